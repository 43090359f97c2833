/**
 * The live topology of pod networking on this host, read from the kernel and drawn as text or Mermaid
 * (./topology.ts): what `cnilab show` prints.
 *
 * @example
 * ```ts
 * import { readTopology, renderText } from "./lib/topology/mod.ts";
 *
 * console.log(renderText(await readTopology(), { width: 80 }));
 * ```
 * @module
 */
export * from "./topology.ts";
