/**
 * The lab runner (./lab.ts): steps that narrate, act and check the real state, and a teardown that is
 * itself verified. Views of a run (./views.ts) and transcripts (./transcript.ts) build on its events.
 *
 * @example
 * ```ts
 * import { runLab } from "./lib/lab/mod.ts";
 * import { networkNamespaceLifecycle } from "./labs/network-namespace-lifecycle.ts";
 *
 * const report = await runLab(networkNamespaceLifecycle);
 * console.log(report.ok, report.steps.map((s) => s.title));
 * ```
 * @module
 */
export * from "./lab.ts";
