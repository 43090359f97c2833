/**
 * The shape of a `cnilab` subcommand. Each lives in its own module and is registered in commands.ts.
 * @module
 */

/** Exit codes every command uses. */
export const Exit = {
  /** all checks passed */
  Ok: 0,
  /** a check failed */
  CheckFailed: 1,
  /** environment not ready or bad input (the message says the fix in one line) */
  NotReady: 2,
  /** interrupted: Ctrl-C (SIGINT) or q at a step prompt; teardown ran */
  Interrupted: 130,
  /** terminated (SIGTERM); teardown ran */
  Terminated: 143,
} as const;

/** The exit codes, as every --help lists them. */
export const EXIT_CODES_HELP = `exit codes:
  0    every check passed
  1    a check failed
  2    environment not ready or bad input (one line says the fix)
  130  interrupted: Ctrl-C (SIGINT), or q at a step prompt; teardown verified
  143  terminated (SIGTERM); teardown verified`;

/** A `cnilab` subcommand. */
export interface Command {
  name: string;
  /** One line for `cnilab --help`. */
  summary: string;
  /** Full usage text for `cnilab <name> --help`. */
  usage: string;
  /** Runs with the arguments after the command name; resolves to the exit code. */
  run(argv: string[]): Promise<number>;
}

/** An error the user can fix; printed as one line, exit code 2. */
export class UsageError extends Error {
  constructor(message: string, readonly exitCode: number = Exit.NotReady) {
    super(message);
    this.name = "UsageError";
  }
}
