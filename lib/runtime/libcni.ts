/**
 * libcni's `CNIConfig`: runs a network configuration list for one attachment (container ID + netns +
 * interface name). What each plugin receives is built here, once:
 *
 * - `cniVersion` and `name` of the list, over whatever the plugin config said;
 * - `runtimeConfig`: only the capability args the plugin declares in `capabilities` AND the caller supplies;
 * - `prevResult`: on ADD, the previous plugin's result (never on the first plugin); on CHECK and DEL, the
 *   cached final result of the ADD (converted to the list's version);
 * - GC: `cni.dev/valid-attachments`.
 *
 * Differences from libcni, on purpose (docs/runtime.md lists them): a failed ADD is rolled back here (the failing
 * plugin and the ones before it get DEL in reverse order) instead of leaving that to the caller; operations
 * on one container are serialized by a lock; the cache is written atomically.
 * @module
 */
import { existsSync } from "node:fs";
import {
  atLeast,
  type Attachment,
  type CniCommand,
  cniEnv,
  CniError,
  CniRuntimeError,
  convertAnyResult as convertResult,
  findInPath,
  type InvokeArgs,
  type PluginConfig,
  type PluginExec,
  rawExec,
  type Result,
  validateContainerId as checkContainerId,
  validateIfname,
  validateNetworkName as checkNetworkName,
} from "../cni/mod.ts";
import { cacheFilePath, deleteCache, listCachedAttachments, readCache, writeCache } from "./cache.ts";
import { warnToStderr } from "./conf.ts";
import { withContainerLock } from "./lock.ts";
import type { CachedAttachment, CniConfigOptions, NetworkConfigList, RuntimeConf } from "./types.ts";

/** Default libcni cache dir. */
export const DEFAULT_CACHE_DIR = "/var/lib/cni";
/** Default dir of the per-container lock files. */
export const DEFAULT_LOCK_DIR = "/run/cnilab/cni-locks";
/** Default per-plugin timeout. */
export const DEFAULT_TIMEOUT_MS = 60_000;

export { CniRuntimeError };

/** Runs one of the validators shared with the plugin side; its CniError becomes the runtime's error. */
function validated(check: (value: string) => void, value: string): void {
  try {
    check(value);
  } catch (error) {
    if (!(error instanceof CniError)) throw error;
    const message = error.details ? `${error.message}: ${error.details}` : error.message;
    throw new CniRuntimeError(message, {
      op: "validate",
      code: error.code,
      details: error.details,
      cause: error,
    });
  }
}

/** libcni's `ValidateContainerID`. */
function validateContainerId(id: string): void {
  validated(checkContainerId, id);
}

/** libcni's `ValidateNetworkName`. */
function validateNetworkName(name: string): void {
  validated(checkNetworkName, name);
}

/** libcni's `ValidateInterfaceName`: 1–15 bytes, not `.`/`..`, no `/`, `:` or whitespace. */
function validateInterfaceName(ifName: string): void {
  validated(validateIfname, ifName);
}

function describe(plugin: PluginConfig, network: string): string {
  return `type="${plugin.type}" name="${network}"`;
}

function parseResult(stdout: string, version: string, pluginType: string): Result {
  let value: unknown;
  try {
    value = JSON.parse(stdout);
  } catch (error) {
    throw new Error(`plugin ${pluginType} printed no valid JSON result: ${(error as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error(`plugin ${pluginType} printed a result that is not a JSON object`);
  }
  const raw = value as Result;
  // libcni: a result without cniVersion is taken to be in the config's version
  const resultVersion = typeof raw.cniVersion === "string" && raw.cniVersion ? raw.cniVersion : version;
  for (const ip of raw.ips ?? []) {
    if (typeof ip?.address !== "string") {
      throw new Error(`plugin ${pluginType} returned an ip without address`);
    }
  }
  return convertResult({ ...raw, cniVersion: resultVersion }, version);
}

/** libcni's `CNIConfig`, bound to CNI_PATH dirs and a cache dir. */
export class CniConfig {
  readonly binDirs: string[];
  readonly cacheDir: string;
  readonly timeoutMs: number;
  readonly lockDir: string;
  readonly textBusyRetryMs: number;
  readonly warn: (message: string) => void;
  readonly exec: PluginExec;

  constructor(opts: CniConfigOptions) {
    this.binDirs = [...opts.binDirs];
    this.cacheDir = opts.cacheDir ?? DEFAULT_CACHE_DIR;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.lockDir = opts.lockDir ?? DEFAULT_LOCK_DIR;
    this.textBusyRetryMs = opts.textBusyRetryMs ?? 1000;
    this.warn = opts.onWarning ?? warnToStderr;
    this.exec = opts.exec ?? rawExec;
  }

  /** The executable a plugin type resolves to (throws a PluginNotFoundError naming the dirs searched). */
  findPlugin(type: string): string {
    return findInPath(type, this.binDirs);
  }

  /**
   * The stdin of one plugin: its config with the list's `name` and `cniVersion`, `prevResult` when given,
   * and `runtimeConfig` holding only the capabilities it declares and the caller supplies.
   */
  pluginStdin(
    list: NetworkConfigList,
    plugin: PluginConfig,
    prevResult?: Result,
    rt?: RuntimeConf,
  ): PluginConfig {
    const conf: PluginConfig = { ...plugin, name: list.name, cniVersion: list.cniVersion };
    if (prevResult) conf.prevResult = convertResult(prevResult, list.cniVersion);
    if (rt) {
      const runtimeConfig: Record<string, unknown> = {};
      for (const [capability, enabled] of Object.entries(plugin.capabilities ?? {})) {
        if (enabled === true && rt.capabilityArgs && capability in rt.capabilityArgs) {
          runtimeConfig[capability] = rt.capabilityArgs[capability];
        }
      }
      if (Object.keys(runtimeConfig).length > 0) conf.runtimeConfig = runtimeConfig;
    }
    return conf;
  }

  private args(command: CniCommand, rt?: RuntimeConf): InvokeArgs {
    return {
      command,
      containerId: rt?.containerId,
      netns: rt?.netns,
      ifName: rt?.ifName,
      pluginArgs: rt?.args,
      path: this.binDirs,
    };
  }

  private async invoke(
    op: string,
    command: CniCommand,
    list: NetworkConfigList,
    plugin: PluginConfig,
    stdin: PluginConfig,
    rt?: RuntimeConf,
  ): Promise<string> {
    let path: string;
    try {
      path = this.findPlugin(plugin.type);
    } catch (error) {
      throw new CniRuntimeError(
        `plugin ${describe(plugin, list.name)} failed (${op}): ${(error as Error).message}`,
        { op, plugin: plugin.type, cause: error },
      );
    }
    try {
      const args = this.args(command, rt);
      const out = await this.exec(path, JSON.stringify(stdin), cniEnv(args), {
        timeoutMs: this.timeoutMs,
        textBusyRetryMs: this.textBusyRetryMs,
        // CHECK, STATUS and VERSION only look; the transcript shows them as reads
        purpose: ["CHECK", "STATUS", "VERSION"].includes(command) ? "read" : "action",
      });
      return out.stdout;
    } catch (error) {
      const e = error as CniRuntimeError;
      throw new CniRuntimeError(`plugin ${describe(plugin, list.name)} failed (${op}): ${e.message}`, {
        op,
        plugin: plugin.type,
        code: e.code,
        timedOut: e.timedOut === true,
        cause: error,
      });
    }
  }

  private validate(list: NetworkConfigList, rt: RuntimeConf): void {
    validateContainerId(rt.containerId);
    validateNetworkName(list.name);
    validateInterfaceName(rt.ifName);
  }

  private locked<T>(rt: RuntimeConf, fn: () => Promise<T>): Promise<T> {
    try {
      validateContainerId(rt.containerId); // it names the lock file
    } catch (error) {
      return Promise.reject(error);
    }
    return withContainerLock(this.lockDir, rt.containerId, fn);
  }

  /**
   * ADD: runs the chain in order, each plugin getting the previous plugin's result as `prevResult`; caches
   * the final result only when the whole chain succeeded. On failure (error, crash, timeout) the failing
   * plugin and those before it get DEL in reverse order (without prevResult, as a runtime's teardown after
   * a failed ADD has no cached result), nothing is cached, and the original error is thrown. An attachment
   * that is already cached (ADD without DEL in between) is refused before any plugin runs.
   */
  addNetworkList(list: NetworkConfigList, rt: RuntimeConf): Promise<Result> {
    return this.locked(rt, async () => {
      this.validate(list, rt);
      // a second ADD of a live attachment would fail in the plugin and its rollback would tear down the
      // first one: refuse it before any plugin runs
      if (existsSync(cacheFilePath(this.cacheDir, list.name, rt))) {
        throw new CniRuntimeError(
          `container ${rt.containerId} is already attached to network "${list.name}" as ${rt.ifName} ` +
            `(cached result ${cacheFilePath(this.cacheDir, list.name, rt)}): DEL it first`,
          { op: "add" },
        );
      }
      for (const plugin of list.plugins) this.resolveOrThrow("add", list, plugin);
      let result: Result | undefined;
      for (let i = 0; i < list.plugins.length; i++) {
        const plugin = list.plugins[i];
        try {
          const stdout = await this.invoke(
            "add",
            "ADD",
            list,
            plugin,
            this.pluginStdin(list, plugin, result, rt),
            rt,
          );
          result = parseResult(stdout, list.cniVersion, plugin.type);
        } catch (error) {
          await this.rollback(list, rt, i);
          if (error instanceof CniRuntimeError) throw error;
          throw new CniRuntimeError(
            `plugin ${describe(plugin, list.name)} failed (add): ${(error as Error).message}`,
            { op: "add", plugin: plugin.type },
          );
        }
      }
      const final = result ?? { cniVersion: list.cniVersion };
      try {
        writeCache(this.cacheDir, list, rt, final);
      } catch (error) {
        await this.rollback(list, rt, list.plugins.length - 1);
        throw new CniRuntimeError(
          `failed to set network "${list.name}" cached result: ${(error as Error).message}`,
          { op: "add" },
        );
      }
      return final;
    });
  }

  private resolveOrThrow(op: string, list: NetworkConfigList, plugin: PluginConfig): void {
    try {
      this.findPlugin(plugin.type);
    } catch (error) {
      throw new CniRuntimeError(
        `plugin ${describe(plugin, list.name)} failed (${op}): ${(error as Error).message}`,
        { op, plugin: plugin.type },
      );
    }
  }

  private async rollback(list: NetworkConfigList, rt: RuntimeConf, failedIndex: number): Promise<void> {
    for (let i = failedIndex; i >= 0; i--) {
      const plugin = list.plugins[i];
      try {
        await this.invoke("del", "DEL", list, plugin, this.pluginStdin(list, plugin, undefined, rt), rt);
      } catch (error) {
        this.warn(`rollback after failed ADD: ${(error as Error).message}`);
      }
    }
  }

  /**
   * CHECK: refuses lists older than 0.4.0, does nothing when `disableCheck` is set, needs the cached result
   * of a previous ADD, and runs the chain in order with it as `prevResult`; stops at the first error.
   */
  checkNetworkList(list: NetworkConfigList, rt: RuntimeConf): Promise<void> {
    return this.locked(rt, async () => {
      if (!atLeast(list.cniVersion, "0.4.0")) {
        throw new CniRuntimeError(
          `configuration version "${list.cniVersion}" does not support the CHECK command`,
          { op: "check" },
        );
      }
      if (list.disableCheck) return;
      this.validate(list, rt);
      let cached;
      try {
        cached = readCache(this.cacheDir, list.name, rt);
      } catch (error) {
        throw new CniRuntimeError(
          `failed to get network "${list.name}" cached result: ${(error as Error).message}`,
          { op: "check" },
        );
      }
      if (!cached?.result) {
        throw new CniRuntimeError(
          `no cached result for network "${list.name}", container ${rt.containerId}, interface ${rt.ifName}: ` +
            `CHECK needs a previous ADD`,
          { op: "check" },
        );
      }
      const prev = convertResult(cached.result, list.cniVersion);
      for (const plugin of list.plugins) {
        await this.invoke("check", "CHECK", list, plugin, this.pluginStdin(list, plugin, prev, rt), rt);
      }
    });
  }

  /**
   * DEL: the chain in reverse order, every plugin getting the cached final ADD result as `prevResult`
   * (0.4.0 and later; an unreadable cache record is removed and DEL goes on without it). Stops at the first
   * failing plugin and keeps the cache so DEL can be retried; removes the cache record on success.
   */
  delNetworkList(list: NetworkConfigList, rt: RuntimeConf): Promise<void> {
    return this.locked(rt, () => this.delUnlocked(list, rt));
  }

  private async delUnlocked(list: NetworkConfigList, rt: RuntimeConf): Promise<void> {
    this.validate(list, rt);
    let prev: Result | undefined;
    if (atLeast(list.cniVersion, "0.4.0")) {
      try {
        const cached = readCache(this.cacheDir, list.name, rt);
        if (cached?.result) prev = convertResult(cached.result, list.cniVersion);
      } catch (error) {
        this.warn(`${(error as Error).message}; removing it and deleting without prevResult`);
        deleteCache(this.cacheDir, list.name, rt);
      }
    }
    for (let i = list.plugins.length - 1; i >= 0; i--) {
      const plugin = list.plugins[i];
      await this.invoke("delete", "DEL", list, plugin, this.pluginStdin(list, plugin, prev, rt), rt);
    }
    deleteCache(this.cacheDir, list.name, rt);
  }

  /** The cached final ADD result of an attachment, converted to the list's version (undefined if none). */
  getCachedResult(
    list: NetworkConfigList,
    rt: Pick<RuntimeConf, "containerId" | "ifName">,
  ): Result | undefined {
    const cached = readCache(this.cacheDir, list.name, rt);
    return cached?.result ? convertResult(cached.result, list.cniVersion) : undefined;
  }

  /** Cached attachments (all, or one container's), from the cache dir. */
  getCachedAttachments(containerId?: string): CachedAttachment[] {
    return listCachedAttachments(this.cacheDir, containerId);
  }

  /**
   * GC (libcni's `GCNetworkList`): nothing when `disableGC` is set; else DEL every cached attachment of
   * this network that is not in `validAttachments` (undefined = none is valid, as cnitool passes), then, for
   * 1.1.0 lists, GC to every plugin with `cni.dev/valid-attachments`. Errors are collected; all steps run.
   */
  async gcNetworkList(list: NetworkConfigList, validAttachments?: Attachment[]): Promise<void> {
    if (list.disableGC) return;
    const valid = new Set((validAttachments ?? []).map((a) => `${a.containerID}\0${a.ifname}`));
    const errors: string[] = [];
    for (const cached of this.getCachedAttachments()) {
      if (cached.network !== list.name) continue;
      if (valid.has(`${cached.containerId}\0${cached.ifName}`)) continue;
      const rt: RuntimeConf = {
        containerId: cached.containerId,
        netns: cached.netns ?? "",
        ifName: cached.ifName,
        args: cached.cniArgs,
        capabilityArgs: cached.capabilityArgs,
      };
      try {
        await this.delNetworkList(list, rt);
      } catch (error) {
        errors.push(
          `failed to delete stale attachment ${rt.containerId} ${rt.ifName}: ${(error as Error).message}`,
        );
      }
    }
    if (atLeast(list.cniVersion, "1.1.0")) {
      for (const plugin of list.plugins) {
        const stdin: Record<string, unknown> = { ...plugin, name: list.name, cniVersion: list.cniVersion };
        if (validAttachments) stdin["cni.dev/valid-attachments"] = validAttachments;
        try {
          await this.invoke("gc", "GC", list, plugin, stdin as PluginConfig);
        } catch (error) {
          errors.push((error as Error).message);
        }
      }
    }
    if (errors.length > 0) throw new CniRuntimeError(errors.join("\n"), { op: "gc" });
  }

  /** STATUS (1.1.0 lists; older ones are reported ready without asking): each plugin in order, first error wins. */
  async getStatusNetworkList(list: NetworkConfigList): Promise<void> {
    if (!atLeast(list.cniVersion, "1.1.0")) return;
    for (const plugin of list.plugins) {
      await this.invoke("status", "STATUS", list, plugin, {
        ...plugin,
        name: list.name,
        cniVersion: list.cniVersion,
      });
    }
  }

  /** VERSION of one plugin type: `{cniVersion, supportedVersions}`. */
  async versionInfo(type: string): Promise<{ cniVersion: string; supportedVersions: string[] }> {
    const plugin: PluginConfig = { type };
    const list = { name: "version", cniVersion: "1.1.0" } as NetworkConfigList;
    const stdout = await this.invoke(
      "version",
      "VERSION",
      list,
      plugin,
      { cniVersion: "1.1.0" } as PluginConfig,
    );
    const parsed = JSON.parse(stdout) as { cniVersion: string; supportedVersions: string[] };
    if (!Array.isArray(parsed.supportedVersions)) {
      throw new CniRuntimeError(`plugin ${type} answered VERSION without supportedVersions`, {
        op: "version",
        plugin: type,
      });
    }
    return parsed;
  }

  /**
   * libcni's `ValidateNetworkList`: every plugin exists and supports the list's version. Returns the
   * capabilities the list declares.
   */
  async validateNetworkList(list: NetworkConfigList): Promise<string[]> {
    const problems: string[] = [];
    const caps = new Set<string>();
    for (const plugin of list.plugins) {
      try {
        const info = await this.versionInfo(plugin.type);
        if (!info.supportedVersions.includes(list.cniVersion)) {
          problems.push(`plugin ${plugin.type} does not support config version "${list.cniVersion}"`);
        }
      } catch (error) {
        problems.push((error as Error).message);
      }
      for (const [c, on] of Object.entries(plugin.capabilities ?? {})) if (on) caps.add(c);
    }
    if (problems.length > 0) throw new CniRuntimeError(problems.join("; "), { op: "validate" });
    return [...caps];
  }
}
