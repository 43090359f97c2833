/**
 * Errors of the sandbox runtime, each explaining itself in one line.
 * @module
 */

/** A manifest that cannot be run; the message names the field and what is wrong with it. */
export class ManifestError extends Error {
  constructor(readonly path: string, problem: string) {
    super(`${path}: ${problem}`);
    this.name = "ManifestError";
  }
}

/** A pod or sandbox that does not exist, or a name that is already taken. */
export class SandboxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SandboxError";
  }
}
