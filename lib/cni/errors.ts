/**
 * The one place that knows CNI's error codes. Plugins print a {@link CniError} as the spec's error JSON on
 * stdout; the runtime parses a plugin's error output back into one.
 * @module
 */

/** The spec's well-known error codes (plugins may use 100 and above for their own). */
export const ErrorCode = {
  IncompatibleVersion: 1,
  UnsupportedField: 2,
  UnknownContainer: 3,
  InvalidEnvironment: 4,
  IoFailure: 5,
  DecodingFailure: 6,
  InvalidNetworkConfig: 7,
  TryAgainLater: 11,
  PluginNotAvailable: 50,
  PluginNotAvailableLimitedConnectivity: 51,
  /** What the reference Go plugins use for everything else. */
  Internal: 999,
} as const;

/** A CNI error: code, message and details, printed as the spec's error JSON. */
export class CniError extends Error {
  constructor(readonly code: number, msg: string, readonly details = "") {
    super(msg);
    this.name = "CniError";
  }

  /** The spec's error object. */
  toJSON(cniVersion: string): { cniVersion: string; code: number; msg: string; details?: string } {
    return {
      cniVersion,
      code: this.code,
      msg: this.message,
      ...(this.details ? { details: this.details } : {}),
    };
  }

  /** Parses a plugin's error output (JSON on stdout); undefined when it is not the spec's error JSON. */
  static parse(text: string): CniError | undefined {
    try {
      const v = JSON.parse(text) as { code?: unknown; msg?: unknown; details?: unknown };
      if (typeof v.code !== "number") return undefined;
      return new CniError(v.code, String(v.msg ?? ""), typeof v.details === "string" ? v.details : "");
    } catch {
      return undefined;
    }
  }
}

/** Options of a {@link CniRuntimeError}: what failed and how (every field optional). */
export interface CniRuntimeErrorOptions {
  /** The operation: `add`, `del`, `check`, `status`, `gc`, `version`, `validate`. */
  op?: string;
  /** The plugin type that failed, when one did. */
  plugin?: string;
  /** The spec's error code, when the plugin printed one (or a validator gave one). */
  code?: number;
  /** The plugin's `details`, when it printed the spec's error JSON. */
  details?: string;
  /** What the plugin printed on stdout / stderr. @default "" */
  stdout?: string;
  stderr?: string;
  /** The plugin was killed after the timeout. @default false */
  timedOut?: boolean;
  /** The plugin's exit code; -1 when it never started. @default -1 */
  exitCode?: number;
  /** The underlying error (a plugin's {@link CniError}, a failed exec). */
  cause?: unknown;
}

/**
 * Running a plugin, or a chain of them, failed: says which plugin, which operation, and what the plugin
 * said. The one error of the runtime side (libcni's errors, pkg/invoke's exec errors).
 */
export class CniRuntimeError extends Error {
  readonly op: string;
  readonly plugin?: string;
  readonly code?: number;
  readonly details: string;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
  readonly exitCode: number;
  override readonly cause?: unknown;

  constructor(message: string, options: CniRuntimeErrorOptions = {}) {
    super(message);
    this.name = "CniRuntimeError";
    this.op = options.op ?? "";
    this.plugin = options.plugin;
    this.code = options.code;
    this.details = options.details ?? "";
    this.stdout = options.stdout ?? "";
    this.stderr = options.stderr ?? "";
    this.timedOut = options.timedOut ?? false;
    this.exitCode = options.exitCode ?? -1;
    this.cause = options.cause;
  }
}
