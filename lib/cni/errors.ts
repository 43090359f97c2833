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
