/**
 * The one typed event stream every view of cnilab is built from (./events.ts): commands, lab steps,
 * checks, teardown.
 *
 * @example
 * ```ts
 * import { subscribe } from "./lib/events/mod.ts";
 *
 * const stop = subscribe((e) => {
 *   if (e.type === "command:end") console.log(e.code, e.argv.join(" "));
 * });
 * stop();
 * ```
 * @module
 */
export * from "./events.ts";
