/**
 * The plugins this very executable can run in-process, by executable name. The multi-call binary
 * (`main.ts`) fills it from the registry before it dispatches; the bridge's IPAM delegation reads it. It is
 * handed down instead of imported, so the registry (which loads the bridge) and the bridge do not import
 * each other — the way libcni takes its exec function from its caller.
 * @module
 */
import type { PluginDefinition } from "./plugin.ts";

/** Loads one plugin's module. */
export type PluginLoad = () => Promise<{ plugin: PluginDefinition }>;

let table: Readonly<Record<string, PluginLoad>> = {};

/** Called once by the multi-call binary: these names are this executable. */
export function setInProcessPlugins(plugins: Readonly<Record<string, PluginLoad>>): void {
  table = plugins;
}

/** The in-process plugin behind executable name `name`, if this executable is it. */
export function inProcessPlugin(name: string): PluginLoad | undefined {
  return Object.hasOwn(table, name) ? table[name] : undefined;
}
