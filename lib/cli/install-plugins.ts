/**
 * `cnilab install-plugins [--dir DIR] [--reference-names]`: installs cnilab's CNI plugins into a CNI bin
 * directory, where a runtime (containerd's `bin_dir`, CNI_PATH) finds them by `type` like any plugin.
 *
 * One copy of the multi-call binary (`cnilab-plugin`) and one hard link per plugin name, so the ~110 MB
 * binary is on disk once. Each file is written next to its target and renamed over it: a plugin running
 * at that moment keeps its old file, and a runtime never sees a half-written one.
 *
 * A complete drop-in for a containerd node: containerd's CRI plugin always runs go-cni's own `cni-loopback`
 * network (`{"type": "loopback"}`, `WithLoNetwork` in containerd/go-cni opts.go) beside the node's network,
 * so a bin dir without a `loopback` fails every RunPodSandbox. `loopback` is therefore installed whenever
 * the dir has none; `--reference-names` also installs `bridge` and `host-local`. A file cnilab did not
 * install is never replaced: what it installed is recorded in `.cnilab-plugins` in the dir, and a name
 * counts as cnilab's only while it is listed there and still is the same file as cnilab-plugin.
 * @module
 */
import {
  copyFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { resolve } from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";
import { CNILAB_NAMES, PLUGIN_DIR, REFERENCE_NAMES } from "../util/mod.ts";
import { type Command, Exit, UsageError } from "./command.ts";

/** Where containerd and most runtimes look for CNI plugins. */
export const DEFAULT_CNI_BIN_DIR = "/opt/cni/bin";

/** The record of what cnilab installed into a bin dir (one JSON object: `{"installed": [names]}`). */
export const INSTALL_RECORD = ".cnilab-plugins";

const usage = `usage: cnilab install-plugins [--dir DIR] [--reference-names]

Installs cnilab's CNI plugins into DIR (default ${DEFAULT_CNI_BIN_DIR}):
${CNILAB_NAMES.join(", ")}, and \`loopback\` when DIR has
none (containerd always runs a loopback network next to the node's). Build
them first with \`npm run build\` (they come from dist/cni/). A plugin cnilab
did not install is never replaced; what cnilab installed is listed in
DIR/${INSTALL_RECORD}.

options:
  --dir DIR           the CNI bin directory to install into
  --reference-names   also install as bridge, host-local and loopback, so a
                      node's existing conflists run cnilab's plugins
  -h, --help          show this help`;

/** What {@link installPlugins} did. */
export interface InstallReport {
  /** Paths written (the binary first). */
  written: string[];
  /** Names left alone because a plugin cnilab did not install has them. */
  kept: string[];
}

function sameFile(a: string, b: string): boolean {
  try {
    const x = statSync(a);
    const y = statSync(b);
    return x.ino === y.ino && x.dev === y.dev;
  } catch {
    return false;
  }
}

function readRecord(dir: string): string[] {
  try {
    const parsed = JSON.parse(readFileSync(`${dir}/${INSTALL_RECORD}`, "utf8")) as { installed?: unknown };
    return Array.isArray(parsed.installed) ? parsed.installed.filter((n) => typeof n === "string") : [];
  } catch {
    return [];
  }
}

function writeRecord(dir: string, names: string[]): void {
  const path = `${dir}/${INSTALL_RECORD}`;
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify({ installed: [...new Set(names)].sort() }) + "\n", { mode: 0o644 });
  renameSync(tmp, path);
}

/**
 * Installs the plugins from `fromDir` into `dir`. `loopback` is added when `dir` has none;
 * `referenceNames` adds `bridge`, `host-local` and `loopback`, and refuses (before writing anything) when
 * one of them is a plugin cnilab did not install.
 */
export function installPlugins(
  fromDir: string,
  dir: string,
  opts: { referenceNames?: boolean } = {},
): InstallReport {
  const binary = `${fromDir}/cnilab-plugin`;
  if (!existsSync(binary)) {
    throw new UsageError(`${binary} is missing: run \`npm run build\` first`);
  }
  const target = `${dir}/cnilab-plugin`;
  const recorded = readRecord(dir);
  // a name is cnilab's while it is recorded and still the installed binary (no one replaced it since)
  const ours = (name: string) =>
    !existsSync(`${dir}/${name}`) || (recorded.includes(name) && sameFile(`${dir}/${name}`, target));
  const wanted: string[] = [...CNILAB_NAMES];
  const kept: string[] = [];
  if (opts.referenceNames) {
    const foreign = REFERENCE_NAMES.filter((n) => !ours(n));
    if (foreign.length) {
      throw new UsageError(
        `${foreign.map((n) => `${dir}/${n}`).join(", ")} ${
          foreign.length > 1 ? "are plugins" : "is a plugin"
        } cnilab did not install; move ${foreign.length > 1 ? "them" : "it"} away first`,
      );
    }
    wanted.push(...REFERENCE_NAMES);
  } else {
    for (const name of REFERENCE_NAMES) {
      // loopback always (containerd needs it); bridge/host-local only to keep an earlier install current
      const installedBefore = recorded.includes(name) && ours(name);
      if (name === "loopback" ? ours(name) : installedBefore) wanted.push(name);
      else if (name === "loopback") kept.push(name);
    }
  }
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  // record first: a kill between the record and the links leaves names listed that may not exist, never
  // a cnilab file that is not listed
  writeRecord(dir, [...recorded.filter((n) => ours(n) && !wanted.includes(n)), ...wanted]);
  const tmp = `${target}.tmp-${process.pid}`;
  try {
    copyFileSync(binary, tmp);
    renameSync(tmp, target);
  } finally {
    rmSync(tmp, { force: true });
  }
  const written = [target];
  for (const name of wanted) {
    const path = `${dir}/${name}`;
    const linkTmp = `${path}.tmp-${process.pid}`;
    rmSync(linkTmp, { force: true });
    linkSync(target, linkTmp);
    renameSync(linkTmp, path);
    written.push(path);
  }
  return { written, kept };
}

/** The `install-plugins` command. */
export const installPluginsCommand: Command = {
  name: "install-plugins",
  summary: "install cnilab's CNI plugins into a CNI bin directory (default /opt/cni/bin)",
  usage,
  run(argv: string[]): Promise<number> {
    const { values } = parseArgs({
      args: argv,
      options: {
        dir: { type: "string" },
        "reference-names": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    });
    if (values.help) {
      console.log(usage);
      return Promise.resolve(Exit.Ok);
    }
    const dir = resolve(values.dir ?? DEFAULT_CNI_BIN_DIR);
    const fromDir = PLUGIN_DIR;
    const { written, kept } = installPlugins(fromDir, dir, { referenceNames: values["reference-names"] });
    console.log(`installed cnilab's CNI plugins into ${dir}:`);
    console.log(`  ${written[0]}  (the multi-call binary)`);
    for (const path of written.slice(1)) console.log(`  ${path}  (hard link to cnilab-plugin)`);
    for (const name of kept) console.log(`  ${dir}/${name}  left alone: cnilab did not install it`);
    console.log(`a conflist's "type" can now be any of the names above`);
    return Promise.resolve(Exit.Ok);
  },
};
