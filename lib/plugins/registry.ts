/**
 * cnilab's plugins by executable name: the multi-call binary dispatches on it, and the bridge uses it to run
 * an IPAM plugin of the same binary in-process. Modules load lazily (start-up is paid on every CNI call).
 * @module
 */
import type { PluginDefinition } from "./plugin.ts";

/** Executable name → the module that defines the plugin. */
export const PLUGINS: Record<string, () => Promise<{ plugin: PluginDefinition }>> = {
  "cnilab-bridge": () => import("./bridge/mod.ts"),
  "cnilab-host-local": () => import("./host-local/mod.ts"),
  "cnilab-loopback": () => import("./loopback/mod.ts"),
};
