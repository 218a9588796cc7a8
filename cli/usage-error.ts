// A usage error: bad flags or arguments. Subcommands throw it; main prints it and exits 2.
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
