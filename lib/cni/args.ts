/**
 * CNI_ARGS, the one `K=V;K2=V2` parser and writer: the runtime writes it (libcni's `invoke.Args`), the
 * plugin side reads it (the skeleton, checking keys against what the plugin knows), and `cnilab cni` reads
 * it from the user like cnitool.
 * @module
 */
import { CniError, ErrorCode } from "./errors.ts";

/** Splits CNI_ARGS into ordered pairs; a pair without exactly one `=` or with an empty key is code 4. */
export function parseCniArgPairs(text: string): [string, string][] {
  if (text === "") return [];
  return text.split(";").map((pair) => {
    const kv = pair.split("=");
    if (kv.length !== 2 || kv[0] === "") {
      throw new CniError(
        ErrorCode.InvalidEnvironment,
        `CNI_ARGS: invalid pair ${JSON.stringify(pair)}`,
        "use K=V;K2=V2",
      );
    }
    return [kv[0], kv[1]];
  });
}

/** Joins pairs into CNI_ARGS (`K=V;K2=V2`). */
export function formatCniArgs(pairs: readonly (readonly [string, string])[]): string {
  return pairs.map(([k, v]) => `${k}=${v}`).join(";");
}
