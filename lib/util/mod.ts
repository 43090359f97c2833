/**
 * The small helpers every layer shares, defined once: random hex ids, the repository's root and cnilab's
 * plugin names. Layer 0: it imports nothing of cnilab's.
 *
 * ```ts
 * import { CNILAB_NAMES, PLUGIN_DIR, randomHex } from "./lib/util/mod.ts";
 * const veth = `veth${randomHex(4)}`; // veth9f03c2e1
 * const built = CNILAB_NAMES.map((name) => `${PLUGIN_DIR}/${name}`);
 * ```
 * @module
 */
export { hex, randomHex } from "./hex.ts";
export { ipv6Text } from "./ipv6.ts";
export { CNILAB_NAMES, PLUGIN_DIR, REFERENCE_NAMES, REPO_ROOT } from "./repo.ts";
