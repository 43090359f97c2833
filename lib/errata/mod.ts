/**
 * The errata sheet (./errata.ts): every place the chapter is outdated, wrong or inexact, with its source
 * and the lab check that proves it. One source for `cnilab errata`, transcripts and docs/errata.md.
 *
 * @example
 * ```ts
 * import { ERRATA, renderText } from "./lib/errata/mod.ts";
 *
 * console.log(renderText(ERRATA, 80));
 * ```
 * @module
 */
export * from "./errata.ts";
