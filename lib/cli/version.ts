/**
 * `cnilab --version`: cnilab's version, the JavaScript runtime running it, and whether the CNI plugins
 * are built.
 * @module
 */
import { existsSync, readFileSync } from "node:fs";
import process from "node:process";
import { CNILAB_NAMES as PLUGINS, PLUGIN_DIR, REPO_ROOT } from "../util/mod.ts";

/** The runtime running cnilab, e.g. "bun 1.2.3" or "deno 2.1.0". */
export function runtimeVersion(): string {
  const g = globalThis as { Bun?: { version: string }; Deno?: { version: { deno: string } } };
  if (g.Deno) return `deno ${g.Deno.version.deno}`;
  if (g.Bun) return `bun ${g.Bun.version}`;
  return `node ${process.version}`;
}

/** The three lines of `cnilab --version`. */
export function versionText(): string {
  const pkg = JSON.parse(readFileSync(`${REPO_ROOT}/package.json`, "utf8")) as { version: string };
  const built = PLUGINS.filter((p) => existsSync(`${PLUGIN_DIR}/${p}`));
  const plugins = built.length === PLUGINS.length
    ? `built (${PLUGIN_DIR})`
    : `not built: run 'npm run build' (${PLUGINS.length - built.length} of ${PLUGINS.length} missing)`;
  return [`cnilab ${pkg.version}`, `runtime ${runtimeVersion()}`, `plugins ${plugins}`].join("\n");
}
