// serve's log destination: sonic-boom (pino.destination, which also flushes it on exit) in buffer
// mode, each line handed over as bytes: in string mode sonic-boom measures the byte length of
// everything buffered so far on every write, which cost ~5 µs per request under load.
//
// Kept because it earns it: `npm run bench:metrics` (the per-request answer line through pino, 8
// lines per event-loop turn, to /dev/null) measured pino's own destination with the same buffering
// (string mode) at 1.15–3.5× the time of this one per line (4 runs on the shared 2-vCPU machine
// under load; 6.5–8.7 µs vs 7.5–24 µs); the rule is to switch to the library when it is within 10%.

import { pino } from 'pino';

export type LogDestination = pino.DestinationStream & { flush(): void };

/** Lines to `fd`, written in chunks of at least `minLength` bytes (and on flush()). */
export function bufferedDestination(fd: number, minLength: number): LogDestination {
  const sink = pino.destination({ fd, sync: false, minLength, contentMode: 'buffer' });
  const write = sink.write.bind(sink) as unknown as (bytes: Buffer) => boolean;
  return {
    write: (line: string) => write(Buffer.from(line)),
    flush: () => sink.flush(),
  };
}
