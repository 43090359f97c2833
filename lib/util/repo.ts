/** Where the repository is, and the names of the plugins `npm run build` makes in it. */

/**
 * The repository's root directory (no trailing slash): for dist/cni, bin/cnilab, exercises/, examples/.
 * From URL's pathname, not node:url's fileURLToPath: a plugin executable loads this module, and importing
 * node:url costs it ~1.5 ms of every call.
 */
export const REPO_ROOT = decodeURIComponent(new URL("../../", import.meta.url).pathname).replace(/\/$/, "");

/** Where `npm run build` puts cnilab's plugin executables. */
export const PLUGIN_DIR = `${REPO_ROOT}/dist/cni`;

/** cnilab's own plugin names (`type` in a conflist that means cnilab's plugins); dist/cni holds these. */
export const CNILAB_NAMES = ["cnilab-bridge", "cnilab-host-local", "cnilab-loopback"] as const;

/** The reference plugins' names, which the binary answers to as well (`install-plugins --reference-names`). */
export const REFERENCE_NAMES = ["bridge", "host-local", "loopback"] as const;
