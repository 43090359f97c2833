/**
 * Network configuration discovery and parsing, libcni- and go-cni-shaped.
 *
 * - {@link loadNetworkConf}: libcni's `LoadNetworkConf(dir, name)` (what cnitool uses): `*.conflist` sorted
 *   byte-wise, the first whose name matches; else `*.conf`/`*.json`, up-converted to a one-plugin list.
 *   Like libcni, a file that does not parse and sorts before the match fails the lookup.
 * - {@link loadConfDir}: go-cni's `loadFromConfDir` (what containerd's CRI uses): `.conf`, `.conflist` and
 *   `.json` sorted together byte-wise, the first `max_conf_num` loaded; the first invalid one before that
 *   fails the whole load (go-cni returns `ErrInvalidConfig`), so the node's network is not ready.
 * @module
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join } from "node:path";
import { negotiateList, type NetworkConfigList, type PluginConfig } from "../cni/mod.ts";
import { warn } from "../events/mod.ts";

/** A config directory or file the runtime cannot use; the message names it. */
export class ConfigError extends Error {
  constructor(message: string, readonly path: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/** The largest config file go-cni accepts (its `MaxFileSize`, 2 MiB). */
export const MAX_CONF_BYTES = 2 * 1024 * 1024;

function sortBytewise(names: string[]): string[] {
  return names.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

/**
 * Files in `dir` whose extension is one of `extensions`, sorted byte-wise (libcni's `ConfFiles` + sort).
 * Directories are skipped. Throws a {@link ConfigError} naming the dir when it does not exist.
 */
export function confFiles(dir: string, extensions: string[]): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new ConfigError(`CNI config directory ${dir} does not exist`, dir);
    if (code === "ENOTDIR") throw new ConfigError(`CNI config directory ${dir} is not a directory`, dir);
    throw new ConfigError(`cannot read CNI config directory ${dir}: ${(error as Error).message}`, dir);
  }
  const files = names.filter((n) => extensions.includes(extname(n))).filter((n) => {
    try {
      return !statSync(join(dir, n)).isDirectory();
    } catch {
      return false; // dangling symlink
    }
  });
  return sortBytewise(files).map((n) => join(dir, n));
}

function asObject(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error(`${what} must be a JSON object`);
  }
  return value as Record<string, unknown>;
}

function parseJson(text: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`error parsing ${what}: ${(error as Error).message}`);
  }
  return asObject(value, what);
}

function readBool(raw: Record<string, unknown>, key: string): boolean {
  const v = raw[key];
  if (v === undefined) return false;
  if (typeof v === "boolean") return v;
  if (typeof v === "string" && ["true", "false"].includes(v.toLowerCase())) return v.toLowerCase() === "true";
  throw new Error(`invalid value ${JSON.stringify(v)} for ${key} (want true or false)`);
}

/** Parses one plugin config (an element of `plugins`, or a `.conf` file); `type` is required. */
export function parsePluginConf(value: unknown, what = "plugin config"): PluginConfig {
  const raw = asObject(value, what);
  if (typeof raw.type !== "string" || raw.type === "") throw new Error(`${what}: missing 'type'`);
  if (raw.capabilities !== undefined) asObject(raw.capabilities, `${what}: capabilities`);
  return raw as PluginConfig;
}

/**
 * Parses a network configuration list (libcni's `NetworkConfFromBytes`) and negotiates its version.
 * `extraPlugins` are appended (plugin files from `<confdir>/<name>/*.conf`).
 */
export function parseConfList(
  text: string,
  file?: string,
  extraPlugins: PluginConfig[] = [],
): NetworkConfigList {
  const raw = parseJson(text, "configuration list");
  if (typeof raw.name !== "string" || raw.name === "") throw new Error("configuration list has no name");
  const declared: string[] = [];
  if (raw.cniVersion !== undefined) {
    if (typeof raw.cniVersion !== "string") throw new Error("cniVersion must be a string");
    declared.push(raw.cniVersion);
  }
  if (raw.cniVersions !== undefined) {
    if (!Array.isArray(raw.cniVersions) || raw.cniVersions.some((v) => typeof v !== "string")) {
      throw new Error("cniVersions must be a list of strings");
    }
    declared.push(...(raw.cniVersions as string[]));
  }
  const disableCheck = readBool(raw, "disableCheck");
  const disableGC = readBool(raw, "disableGC");
  const inlinedOnly = readBool(raw, "loadOnlyInlinedPlugins");
  let plugins: PluginConfig[] = [];
  if (raw.plugins !== undefined) {
    if (!Array.isArray(raw.plugins)) throw new Error("'plugins' must be a list");
    if (raw.plugins.length === 0) throw new Error("no plugins in list");
    plugins = raw.plugins.map((p, i) => parsePluginConf(p, `plugin config ${i}`));
  } else if (inlinedOnly) {
    throw new Error("loadOnlyInlinedPlugins is true, and no 'plugins' key");
  }
  if (!inlinedOnly) plugins = plugins.concat(extraPlugins);
  if (plugins.length === 0) throw new Error("no plugin configs found");
  return {
    name: raw.name,
    cniVersion: negotiateList(declared),
    declaredVersions: declared,
    disableCheck,
    disableGC,
    plugins,
    bytes: text,
    file,
  };
}

/** Up-converts a single-plugin config (`.conf`/`.json`) into a list, as libcni's `ConfListFromConf` does. */
export function parseConf(text: string, file?: string): NetworkConfigList {
  const raw = parseJson(text, "configuration");
  if (raw.plugins !== undefined && raw.type === undefined) {
    throw new Error("network type not found (this looks like a conflist in a .conf file)");
  }
  const plugin = parsePluginConf(raw, "configuration");
  if (typeof raw.name !== "string" || raw.name === "") throw new Error("configuration has no name");
  const list = {
    name: raw.name,
    cniVersion: typeof raw.cniVersion === "string" ? raw.cniVersion : "",
    plugins: [plugin],
  };
  const parsed = parseConfList(JSON.stringify(list), file);
  if (raw.cniVersion === undefined) parsed.declaredVersions = [];
  return parsed;
}

/** Plugin configs stored beside a list as `<dir>/<name>/*.conf` (libcni `NetworkPluginConfsFromFiles`). */
function pluginFiles(dir: string, name: string): PluginConfig[] {
  const sub = join(dir, name);
  let files: string[];
  try {
    if (!statSync(sub).isDirectory()) return [];
    files = confFiles(sub, [".conf"]);
  } catch {
    return [];
  }
  return files.map((f) => parsePluginConf(parseJson(readFileSync(f, "utf8"), f), f));
}

/** Reads and parses one config file: `.conflist` as a list, `.conf`/`.json` up-converted. */
export function readConfFile(file: string): NetworkConfigList {
  const size = statSync(file).size;
  if (size > MAX_CONF_BYTES) throw new Error(`CNI config in ${file} exceeded max size of ${MAX_CONF_BYTES}`);
  const text = readFileSync(file, "utf8");
  if (file.endsWith(".conflist")) {
    const raw = (() => {
      try {
        return JSON.parse(text) as { name?: unknown };
      } catch {
        return {};
      }
    })();
    const extra = typeof raw.name === "string" && raw.name ? pluginFiles(join(file, ".."), raw.name) : [];
    return parseConfList(text, file, extra);
  }
  return parseConf(text, file);
}

/**
 * libcni's `LoadNetworkConf(dir, name)` (libcni/conf.go, also reached as `LoadConfList`; what cnitool's
 * `cmd/root.go` calls): the first `*.conflist` (byte-wise order) named `name`, else the first `*.conf`/`*.json`
 * named `name` (libcni's deprecated `LoadConf`), up-converted. libcni returns the error of the first file
 * that fails to parse on the way (`if err != nil { return nil, err }` in both loops), so a broken file that
 * sorts before the match fails the lookup; files after the match are never read. cnilab's message adds the
 * file's name, which libcni's `error parsing configuration list` does not carry.
 */
export function loadNetworkConf(dir: string, name: string): NetworkConfigList {
  const lists = confFiles(dir, [".conflist"]);
  const singles = confFiles(dir, [".conf", ".json"]);
  for (const file of [...lists, ...singles]) {
    let conf: NetworkConfigList;
    try {
      conf = readConfFile(file);
    } catch (error) {
      throw new ConfigError(`invalid CNI config ${file}: ${(error as Error).message}`, file);
    }
    if (conf.name === name) return conf;
  }
  if (lists.length + singles.length === 0) {
    throw new ConfigError(`no net configurations found in ${dir}`, dir);
  }
  throw new ConfigError(`no net configuration with name "${name}" in ${dir}`, dir);
}

/** Options of {@link loadConfDir}. */
export interface LoadConfDirOptions {
  /** containerd's `max_conf_num`: load at most this many files; 0 or negative = all. Default 1. */
  maxConfNum?: number;
}

/** go-cni's `ErrInvalidConfig` text, which ends every message about one bad file. */
export const ERR_INVALID_CONFIG = "invalid cni config";
/** go-cni's `ErrCNINotInitialized` text: what `Status()` and `Setup()` return with too few networks. */
export const ERR_CNI_NOT_INITIALIZED = "cni plugin not initialized";

/**
 * go-cni's `loadFromConfDir` (go-cni opts.go), as containerd's CRI calls it through `WithDefaultConf`:
 * every `.conf`, `.conflist` and `.json` in `dir`, sorted together byte-wise, loaded in order until
 * `maxConfNum` are loaded. The first file on the way that is too big, does not parse (libcni's parser
 * also refuses a plugin without `type`), or has no plugins stops the load with go-cni's message naming
 * it, ending in `invalid cni config`; the valid files after it are never loaded. A dir with no config file fails with
 * `no network config found in <dir>: cni plugin not initialized`; a missing dir names the dir.
 */
export function loadConfDir(dir: string, opts: LoadConfDirOptions = {}): NetworkConfigList[] {
  const max = opts.maxConfNum ?? 1;
  const files = confFiles(dir, [".conf", ".conflist", ".json"]);
  if (files.length === 0) {
    throw new ConfigError(`no network config found in ${dir}: ${ERR_CNI_NOT_INITIALIZED}`, dir);
  }
  const out: NetworkConfigList[] = [];
  for (const file of files) {
    const invalid = (what: string) => new ConfigError(`${what}: ${ERR_INVALID_CONFIG}`, file);
    if (statSync(file).size > MAX_CONF_BYTES) {
      throw new ConfigError(`CNI config in ${file} exceeded max size of ${MAX_CONF_BYTES}`, file);
    }
    const isList = file.endsWith(".conflist");
    try {
      out.push(readConfFile(file));
    } catch (error) {
      const message = (error as Error).message;
      if (message === "no plugin configs found") {
        // libcni parses a list without `plugins` (and no plugin files) into zero plugins; go-cni refuses it
        throw invalid(`CNI config list in config file ${file} has no networks, skipping`);
      }
      throw invalid(`failed to load CNI config ${isList ? "list " : ""}file ${file}: ${message}`);
    }
    if (max > 0 && out.length === max) break;
  }
  return out;
}

/** go-cni's `WithLoNetwork`: the `cni-loopback` list (spec 0.3.1, one `loopback` plugin) attached as `lo`. */
export function loopbackConfList(): NetworkConfigList {
  return parseConfList(
    JSON.stringify({ cniVersion: "0.3.1", name: "cni-loopback", plugins: [{ type: "loopback" }] }),
  );
}

/** The default warning sink: the event stream while a lab runs (its views show it), else stderr. */
export function warnToStderr(message: string): void {
  warn(message);
}
