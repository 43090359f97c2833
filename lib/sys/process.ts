/**
 * The process object without `import process from "node:process"`. In a compiled Bun plugin that import
 * costs ~1 ms of every CNI call (an empty compiled program: 8.2 ms, with the import 9.2 ms; docs/plugins.md),
 * and Bun and Deno 2 both have `process` as a global. The type import is erased: nothing loads at run time.
 * The modules a plugin executable loads use this; the rest of cnilab imports node:process as usual.
 * @module
 */
import type nodeProcess from "node:process";

/** The global `process` (Bun's, or Deno's Node compatibility). */
export const process: typeof nodeProcess = (globalThis as unknown as { process: typeof nodeProcess }).process;
