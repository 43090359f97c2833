/**
 * The shape of a cnilab CNI plugin. Each plugin lives in `lib/plugins/<name>/mod.ts` and exports its
 * {@link PluginDefinition} as `plugin` (`export const plugin: PluginDefinition = {...}`); the one multi-call executable (`lib/plugins/main.ts`) picks the plugin by the
 * name it was started as (`cnilab-bridge`, `cnilab-host-local`, `cnilab-loopback`) and hands it to the
 * skeleton (`lib/cni/skeleton.ts`), which does the protocol.
 * @module
 */
import type { PluginHandlers } from "../cni/skeleton.ts";

export type { PluginContext, PluginHandlers } from "../cni/skeleton.ts";

/** A CNI plugin: its executable name, its one-line description and its ADD, DEL, CHECK (STATUS, GC) handlers. */
export interface PluginDefinition extends PluginHandlers {
  /** The executable name a runtime finds through CNI_PATH by `type`, e.g. `cnilab-bridge`. */
  name: string;
  /** One line printed when the executable runs without CNI_COMMAND, e.g. "cnilab bridge plugin (CNI 1.1.0)". */
  about: string;
}
