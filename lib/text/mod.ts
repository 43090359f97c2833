/**
 * Text that fits the terminal (./text.ts): its width, the display width of a string, word wrapping.
 *
 * @example
 * ```ts
 * import { terminalWidth, wrap } from "./lib/text/mod.ts";
 *
 * console.log(wrap("a sentence longer than the terminal is wide …", terminalWidth(), "  "));
 * ```
 * @module
 */
export * from "./text.ts";
