/**
 * cnilab's plugins by executable name: the multi-call binary dispatches on it, and the bridge uses it to run
 * an IPAM plugin of the same binary in-process. Modules load lazily (start-up is paid on every CNI call).
 *
 * Each plugin answers to its own name (`cnilab-bridge`) and to the reference plugin's (`bridge`): installed
 * under `loopback`, the binary is the plugin containerd's CRI plugin runs for go-cni's `cni-loopback`
 * network (`WithLoNetwork` in containerd/go-cni opts.go: `{"type": "loopback"}`, always added next to the
 * node's network), so a CNI bin dir with only cnilab's plugins is a complete drop-in.
 * @module
 */
import type { PluginLoad as Load } from "./in-process.ts";
export { CNILAB_NAMES, REFERENCE_NAMES } from "../util/mod.ts";

const bridge: Load = () => import("./bridge/mod.ts");
const hostLocal: Load = () => import("./host-local/mod.ts");
const loopback: Load = () => import("./loopback/mod.ts");

/** Executable name → the module that defines the plugin. */
export const PLUGINS: Record<string, Load> = {
  "cnilab-bridge": bridge,
  "cnilab-host-local": hostLocal,
  "cnilab-loopback": loopback,
  bridge,
  "host-local": hostLocal,
  loopback,
};
