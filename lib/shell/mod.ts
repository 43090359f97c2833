/**
 * The one way cnilab runs a command, every run recorded on the event stream (./run.ts).
 *
 * @example
 * ```ts
 * import { run } from "./lib/shell/mod.ts";
 *
 * const { stdout, code } = await run(["uname", "-r"], { purpose: "read" });
 * console.log(code, stdout.trim());
 * ```
 * @module
 */
export * from "./run.ts";
