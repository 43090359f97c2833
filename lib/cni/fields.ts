/**
 * Reading untrusted JSON fields into typed values, once, at the edge (config, prevResult, an IPAM result).
 * A field of the wrong type is never ignored: it is code 6 (the spec's "failed to decode content", what Go's
 * json.Unmarshal into the plugin's types answers) with a message naming the field by its path, e.g.
 * `ipam.ranges[0][0].subnet must be a string, got 5`. `null` counts as absent, as in Go.
 * @module
 */
import { CniError, ErrorCode } from "./errors.ts";

/** A JSON object. */
export type JsonObject = Record<string, unknown>;

/** True for a JSON object (not an array, not null). */
export function isObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The value as the message shows it (short). */
export function shown(v: unknown): string {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Code 6: `<where> must be <want>, got <value>`. */
export function typeError(where: string, want: string, got: unknown): never {
  throw new CniError(ErrorCode.DecodingFailure, `${where} must be ${want}, got ${shown(got)}`);
}

/** A required string. */
export function str(v: unknown, where: string): string {
  if (typeof v !== "string") typeError(where, "a string", v);
  return v;
}

/** An optional string (undefined when absent or null). */
export function optStr(v: unknown, where: string): string | undefined {
  return v === undefined || v === null ? undefined : str(v, where);
}

/** An optional boolean. */
export function optBool(v: unknown, where: string): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "boolean") typeError(where, "true or false", v);
  return v;
}

/** An optional integer. */
export function optInt(v: unknown, where: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v)) typeError(where, "an integer", v);
  return v;
}

/** An optional object. */
export function optObject(v: unknown, where: string): JsonObject | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) typeError(where, "an object", v);
  return v;
}

/** An optional list ([] when absent). */
export function list(v: unknown, where: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) typeError(where, "a list", v);
  return v;
}

/** An optional list of strings. */
export function optStrList(v: unknown, where: string): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  return list(v, where).map((s, i) => str(s, `${where}[${i}]`));
}

/** True when the text has a NUL, newline or other control character (never valid in a name or address). */
export function hasControlChar(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}
