/**
 * Spec versions on the runtime's side: which version a list runs with, and results converted for
 * prevResult and the cache. The version rules and result shapes themselves live in lib/cni/version.ts,
 * shared with the plugins.
 * @module
 */
import { SUPPORTED_VERSIONS } from "../cni/types.ts";
import type { CniVersion, Result } from "../cni/types.ts";
import { compareVersions, convertResult as toShape, isSupported, parseResult } from "../cni/version.ts";

export { compareVersions, isSupported };

/** a >= b */
export function atLeast(a: string, b: string): boolean {
  return compareVersions(a, b) >= 0;
}

/**
 * Picks the version a list is run with: the highest of `cniVersion` and `cniVersions` that this runtime
 * supports (libcni picks the highest not newer than its own; cnilab also refuses versions older than
 * 0.3.0, whose results it does not parse). Throws, naming what was offered, when none fits.
 */
export function negotiate(declared: string[]): string {
  const usable = declared.filter(isSupported);
  if (usable.length === 0) {
    throw new Error(
      `no supported cniVersion: the config offers ${
        declared.map((v) => JSON.stringify(v)).join(", ") || "none"
      }, cnilab's runtime speaks ${SUPPORTED_VERSIONS.join(", ")}`,
    );
  }
  return usable.sort(compareVersions)[usable.length - 1];
}

/**
 * Converts a result of any supported shape (0.2.0 `ip4`/`ip6`, 0.3.x/0.4.0, 1.x) into the shape of
 * `toVersion`, as libcni's `GetAsVersion` does for prevResult and cached results.
 */
export function convertResult(result: Result, toVersion: string): Result {
  return toShape(parseResult(result, "a plugin's result"), toVersion as CniVersion);
}
