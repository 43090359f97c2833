/**
 * `cnilab install-plugins [--dir DIR]`: installs cnilab's CNI plugins into a CNI bin directory, where a
 * runtime (containerd's `bin_dir`, CNI_PATH) finds them by `type` like any plugin.
 *
 * One copy of the multi-call binary (`cnilab-plugin`) and one hard link per plugin name, so the ~110 MB
 * binary is on disk once. Each file is written next to its target and renamed over it: a plugin running
 * at that moment keeps its old file, and a runtime never sees a half-written one.
 * @module
 */
import { copyFileSync, existsSync, linkSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { resolve } from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";
import { type Command, Exit, UsageError } from "./command.ts";

/** Where containerd and most runtimes look for CNI plugins. */
export const DEFAULT_CNI_BIN_DIR = "/opt/cni/bin";

const PLUGIN_NAMES = ["cnilab-bridge", "cnilab-host-local", "cnilab-loopback"];

const usage = `usage: cnilab install-plugins [--dir DIR]

Installs cnilab's CNI plugins (${PLUGIN_NAMES.join(", ")}) into DIR
(default ${DEFAULT_CNI_BIN_DIR}). Build them first with \`npm run build\` (they come from dist/cni/).

options:
  --dir DIR   the CNI bin directory to install into
  -h, --help  show this help`;

/** Installs the plugins from `fromDir` into `dir`; returns the paths written. */
export function installPlugins(fromDir: string, dir: string): string[] {
  const binary = `${fromDir}/cnilab-plugin`;
  if (!existsSync(binary)) {
    throw new UsageError(`${binary} is missing: run \`npm run build\` first`);
  }
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const target = `${dir}/cnilab-plugin`;
  const tmp = `${target}.tmp-${process.pid}`;
  try {
    copyFileSync(binary, tmp);
    renameSync(tmp, target);
  } finally {
    rmSync(tmp, { force: true });
  }
  const written = [target];
  for (const name of PLUGIN_NAMES) {
    const path = `${dir}/${name}`;
    const linkTmp = `${path}.tmp-${process.pid}`;
    rmSync(linkTmp, { force: true });
    linkSync(target, linkTmp);
    renameSync(linkTmp, path);
    written.push(path);
  }
  return written;
}

/** The `install-plugins` command. */
export const installPluginsCommand: Command = {
  name: "install-plugins",
  summary: "install cnilab's CNI plugins into a CNI bin directory (default /opt/cni/bin)",
  usage,
  run(argv: string[]): Promise<number> {
    const { values } = parseArgs({
      args: argv,
      options: { dir: { type: "string" }, help: { type: "boolean", short: "h" } },
      strict: true,
    });
    if (values.help) {
      console.log(usage);
      return Promise.resolve(Exit.Ok);
    }
    const dir = resolve(values.dir ?? DEFAULT_CNI_BIN_DIR);
    const fromDir = resolve(new URL("../../dist/cni", import.meta.url).pathname);
    const written = installPlugins(fromDir, dir);
    console.log(`installed cnilab's CNI plugins into ${dir}:`);
    console.log(`  ${written[0]}  (the multi-call binary, copied from ${fromDir})`);
    for (const path of written.slice(1)) console.log(`  ${path}  (hard link to cnilab-plugin)`);
    console.log(`a conflist can now use "type": "cnilab-bridge", "cnilab-host-local" or "cnilab-loopback"`);
    return Promise.resolve(Exit.Ok);
  },
};
