/**
 * Time source for all certificate logic. Logic never reads the wall clock
 * directly; it receives a Clock (or a `now: Date`) so tests can move time.
 */
export type Clock = () => Date;

export const systemClock: Clock = () => new Date();
