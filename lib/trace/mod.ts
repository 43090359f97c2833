/**
 * Follow one packet: `cnilab trace` (./trace.ts). The path is computed from the topology, a capture runs
 * on every interface of it, one probe is sent and the frames become a hop table; only loopback and
 * addresses inside namespaces cnilab made may be traced ({@link TraceRefused}).
 *
 * @example
 * ```ts
 * import { renderTrace, trace } from "./lib/trace/mod.ts";
 *
 * const report = await trace({ from: { ns: "cni-…" }, to: "10.250.0.3" });
 * console.log(renderTrace(report));
 * ```
 * @module
 */
export * from "./trace.ts";
