/**
 * `npm run build`: compiles cnilab's CNI plugins into dist/cni/.
 *
 * One multi-call binary (`bun build --compile lib/plugins/main.ts`, ~100 MB because the Bun runtime is
 * inside) plus one hard link per plugin name; the binary picks the plugin from the name it runs as.
 *
 *   dist/cni/cnilab-plugin        the binary
 *   dist/cni/cnilab-bridge        hard links to it
 *   dist/cni/cnilab-host-local
 *   dist/cni/cnilab-loopback
 * @module
 */
import { linkSync, mkdirSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import process from "node:process";
import { CNILAB_NAMES, PLUGIN_DIR, REPO_ROOT } from "../lib/util/mod.ts";
import { run } from "../lib/shell/mod.ts";

/**
 * The names a runtime finds the plugins by (`type` in a conflist). dist/cni holds only cnilab's own names:
 * it comes before /usr/lib/cni in the default plugin path, so a `bridge` there would shadow the reference
 * plugin every comparison runs against (`cnilab install-plugins --reference-names` installs those).
 */
export const PLUGIN_NAMES = CNILAB_NAMES;

/** Builds dist/cni (or `outDir`); returns the paths written. */
export async function buildPlugins(
  outDir = PLUGIN_DIR,
): Promise<string[]> {
  const root = REPO_ROOT;
  const bun = resolve(root, "node_modules/.bin/bun");
  mkdirSync(outDir, { recursive: true });
  const binary = `${outDir}/cnilab-plugin`;
  // compile next to the target and rename: a running plugin keeps its old inode ("text file busy" never hits)
  const tmp = `${binary}.tmp-${process.pid}`;
  try {
    await run([
      bun,
      "build",
      "--compile",
      "--minify",
      "--bytecode",
      // a plugin runs in the runtime's working directory: never read a bunfig.toml or .env found there
      "--no-compile-autoload-bunfig",
      "--no-compile-autoload-dotenv",
      `${root}/lib/plugins/main.ts`,
      "--outfile",
      tmp,
    ], {
      purpose: "action",
    });
    renameSync(tmp, binary);
  } finally {
    rmSync(tmp, { force: true });
  }
  const written = [binary];
  for (const name of PLUGIN_NAMES) {
    const path = `${outDir}/${name}`;
    rmSync(path, { force: true });
    linkSync(binary, path);
    written.push(path);
  }
  return written;
}

if (import.meta.main) {
  const started = performance.now();
  const written = await buildPlugins(process.argv[2] ? resolve(process.argv[2]) : undefined);
  const size = statSync(written[0]).size;
  console.log(
    `built ${written[0]} (${(size / 1e6).toFixed(0)} MB, ${
      ((performance.now() - started) / 1000).toFixed(1)
    } s)`,
  );
  for (const path of written.slice(1)) console.log(`  ${path} -> ${dirname(path)}/cnilab-plugin (hard link)`);
}
