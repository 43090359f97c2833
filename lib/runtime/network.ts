/**
 * go-cni's facade, the way containerd's CRI drives CNI for a pod sandbox: load the conf dir once
 * (`max_conf_num` files, byte-wise order), attach `cni-loopback` on `lo` plus each network as eth0, eth1, …
 * and fold the per-network results into one view of the sandbox's interfaces.
 * @module
 */
import { atLeast, type Attachment, type Result } from "../cni/mod.ts";
import { ERR_CNI_NOT_INITIALIZED, loadConfDir, loopbackConfList, warnToStderr } from "./conf.ts";
import { CniConfig, CniRuntimeError } from "./libcni.ts";
import type {
  AttachedNetwork,
  CniNetworksOptions,
  InterfaceConfig,
  NamespaceOptions,
  NetworkConfigList,
  RuntimeConf,
  SetupResult,
} from "./types.ts";

/** containerd's CRI defaults. */
export const CONTAINERD_DEFAULTS = {
  binDirs: ["/opt/cni/bin"],
  confDir: "/etc/cni/net.d",
  maxConfNum: 1,
} as const;

/** Turns go-cni labels into CNI_ARGS pairs; `IgnoreUnknown` first so plugins see it before unknown keys. */
function toArgs(args: Record<string, string> | undefined): [string, string][] {
  if (!args) return [];
  const pairs = Object.entries(args);
  pairs.sort(([a], [b]) => (a === "IgnoreUnknown" ? -1 : b === "IgnoreUnknown" ? 1 : 0));
  return pairs;
}

/**
 * go-cni's `checkPluginExists`: every plugin type of every loaded network resolves along the bin dirs, so a
 * missing plugin fails the load (before a sandbox exists) instead of a setup halfway.
 */
function checkPluginsExist(cni: CniConfig, networks: AttachedNetwork[]): void {
  const missing = new Set<string>();
  for (const net of networks) {
    for (const plugin of net.config.plugins) {
      try {
        cni.findPlugin(plugin.type);
      } catch {
        missing.add(plugin.type);
      }
    }
  }
  if (missing.size > 0) {
    throw new CniRuntimeError(
      `unable to find cni plugins ${[...missing].join(", ")} in directories ${
        cni.binDirs.join(", ") || "(none)"
      }`,
      { op: "load" },
    );
  }
}

/** go-cni's `CNI`: a loaded set of networks and the operations on a sandbox. */
export class CniNetworks {
  private constructor(
    readonly cni: CniConfig,
    readonly networks: AttachedNetwork[],
    readonly options: CniNetworksOptions,
    /** Why the conf dir did not load (see {@link loadForCri}); undefined when it did. */
    readonly loadError?: Error,
  ) {}

  /**
   * Loads the networks (go-cni `Load(WithLoNetwork, WithDefaultConf)`): `cni-loopback` on `lo` (unless
   * `loopback: false`), then the first `maxConfNum` configs of `confDir` as eth0, eth1, …
   * Throws go-cni's error when the dir is missing, holds no config, or an invalid file sorts before the
   * networks it loads (a ConfigError naming the file), and a CniRuntimeError naming the plugins and dirs when
   * a plugin of a loaded network is not found (go-cni `checkPluginExists`). {@link loadForCri} keeps going.
   */
  static load(opts: CniNetworksOptions = {}): Promise<CniNetworks> {
    try {
      return Promise.resolve(CniNetworks.loadSync(opts));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** {@link load}, synchronously (config loading does no I/O that needs awaiting). */
  static loadSync(opts: CniNetworksOptions = {}): CniNetworks {
    const loaded = CniNetworks.loadForCri(opts);
    if (loaded.loadError) throw loaded.loadError;
    return loaded;
  }

  /**
   * What containerd's CRI plugin keeps after loading: go-cni's `Load` resets the networks, then applies
   * `WithLoNetwork` and `WithDefaultConf`; when the second fails (cni.go `Load` returns
   * `cni config load failed: …: failed to load cni config`), the instance keeps `cni-loopback` only.
   * containerd logs that error and goes on (pkg/cri/server/service.go, cni_conf_syncer.go); with fewer
   * networks than its `WithMinNetworkCount(2)`, `status()` and `setup()` fail with
   * `cni plugin not initialized` — the node's NetworkReady is false and RunPodSandbox is refused.
   * Never throws; the error is in `loadError`.
   */
  static loadForCri(opts: CniNetworksOptions = {}): CniNetworks {
    const warn = opts.onWarning ?? warnToStderr;
    const cni = new CniConfig({
      binDirs: opts.binDirs ?? [...CONTAINERD_DEFAULTS.binDirs],
      cacheDir: opts.cacheDir,
      timeoutMs: opts.timeoutMs,
      lockDir: opts.lockDir,
      onWarning: warn,
    });
    const prefix = opts.ifPrefix ?? "eth";
    const networks: AttachedNetwork[] = [];
    if (opts.loopback !== false) networks.push({ config: loopbackConfList(), ifName: "lo" });
    try {
      const lists = loadConfDir(opts.confDir ?? CONTAINERD_DEFAULTS.confDir, {
        maxConfNum: opts.maxConfNum ?? CONTAINERD_DEFAULTS.maxConfNum,
      });
      const loaded = lists.map((config, i) => ({ config, ifName: `${prefix}${i}` }));
      checkPluginsExist(cni, [...networks, ...loaded]);
      networks.push(...loaded);
    } catch (error) {
      return new CniNetworks(cni, networks, opts, error as Error);
    }
    return new CniNetworks(cni, networks, opts);
  }

  /** Builds from lists already in hand (e.g. a lab's generated conflist); ifnames as in {@link load}. */
  static fromLists(lists: NetworkConfigList[], opts: CniNetworksOptions = {}): CniNetworks {
    const cni = new CniConfig({
      binDirs: opts.binDirs ?? [...CONTAINERD_DEFAULTS.binDirs],
      cacheDir: opts.cacheDir,
      timeoutMs: opts.timeoutMs,
      lockDir: opts.lockDir,
      onWarning: opts.onWarning,
    });
    const prefix = opts.ifPrefix ?? "eth";
    const networks: AttachedNetwork[] = [];
    if (opts.loopback !== false) networks.push({ config: loopbackConfList(), ifName: "lo" });
    lists.forEach((config, i) => networks.push({ config, ifName: `${prefix}${i}` }));
    return new CniNetworks(cni, networks, opts);
  }

  /** The default interface name (`eth0`). */
  get defaultIfName(): string {
    return `${this.options.ifPrefix ?? "eth"}0`;
  }

  private rt(containerId: string, netns: string, net: AttachedNetwork, opts: NamespaceOptions): RuntimeConf {
    return {
      containerId,
      netns,
      ifName: net.ifName,
      args: toArgs(opts.args),
      capabilityArgs: opts.capabilityArgs,
    };
  }

  /**
   * Attaches the sandbox to every network (go-cni `Setup`): ADD per network, concurrently unless
   * `setupSerially`. When one network fails, the ones that succeeded are removed again (containerd's
   * RunPodSandbox tears the network down on failure) and the first error is thrown.
   */
  async setup(containerId: string, netnsPath: string, opts: NamespaceOptions = {}): Promise<SetupResult> {
    this.ready();
    const attach = async (net: AttachedNetwork) => {
      const started = performance.now();
      const result = await this.cni.addNetworkList(net.config, this.rt(containerId, netnsPath, net, opts));
      return { name: net.config.name, ifName: net.ifName, result, durationMs: performance.now() - started };
    };
    const outcomes: PromiseSettledResult<SetupResult["networks"][number]>[] = [];
    if (this.options.setupSerially) {
      for (const net of this.networks) {
        try {
          outcomes.push({ status: "fulfilled", value: await attach(net) });
        } catch (error) {
          outcomes.push({ status: "rejected", reason: error });
          break;
        }
      }
    } else {
      outcomes.push(...await Promise.allSettled(this.networks.map(attach)));
    }
    const failed = outcomes.find((o) => o.status === "rejected") as PromiseRejectedResult | undefined;
    if (failed) {
      for (let i = outcomes.length - 1; i >= 0; i--) {
        if (outcomes[i].status !== "fulfilled") continue;
        const net = this.networks[i];
        await this.cni.delNetworkList(net.config, this.rt(containerId, netnsPath, net, opts)).catch((error) =>
          this.cni.warn(`teardown of ${net.config.name} after failed setup: ${(error as Error).message}`)
        );
      }
      throw failed.reason;
    }
    const networks = outcomes.map((o) =>
      (o as PromiseFulfilledResult<SetupResult["networks"][number]>).value
    );
    try {
      return this.fold(networks);
    } catch (error) {
      // a result go-cni cannot read (ErrInvalidResult): the sandbox is torn down like any failed setup
      await this.remove(containerId, netnsPath, opts).catch(() => {});
      throw error;
    }
  }

  /** go-cni's `createResult`: interfaces by name with their IPs, plus every network's DNS and routes. */
  private fold(networks: SetupResult["networks"]): SetupResult {
    const interfaces: Record<string, InterfaceConfig> = { [this.defaultIfName]: { ipConfigs: [] } };
    const out: SetupResult = { interfaces, dns: [], routes: [], networks };
    for (const { result } of networks) {
      for (const intf of result.interfaces ?? []) {
        interfaces[intf.name] = {
          ipConfigs: interfaces[intf.name]?.ipConfigs ?? [],
          ...(intf.mac ? { mac: intf.mac } : {}),
          ...(intf.sandbox ? { sandbox: intf.sandbox } : {}),
        };
      }
      for (const ip of result.ips ?? []) {
        let name = this.defaultIfName;
        if (ip.interface !== undefined) {
          const intf = result.interfaces?.[ip.interface];
          if (!intf) {
            throw new CniRuntimeError(
              `invalid result: ip ${ip.address} points at interface ${ip.interface} of ${
                result.interfaces?.length ?? 0
              }`,
              { op: "add" },
            );
          }
          name = intf.name;
        }
        interfaces[name] ??= { ipConfigs: [] };
        interfaces[name].ipConfigs.push({
          ip: ip.address.split("/")[0],
          address: ip.address,
          ...(ip.gateway ? { gateway: ip.gateway } : {}),
        });
      }
      if (result.dns) out.dns.push(result.dns);
      out.routes.push(...(result.routes ?? []));
    }
    return out;
  }

  /**
   * Detaches the sandbox from every network (go-cni `Remove`), in load order, each chain in reverse. A
   * "not found" error, or "no such file or directory" when the netns path is empty, counts as already done.
   */
  async remove(containerId: string, netnsPath: string, opts: NamespaceOptions = {}): Promise<void> {
    for (const net of this.networks) {
      try {
        await this.cni.delNetworkList(net.config, this.rt(containerId, netnsPath, net, opts));
      } catch (error) {
        const msg = (error as Error).message;
        if ((netnsPath === "" && msg.includes("no such file or directory")) || msg.includes("not found")) {
          continue;
        }
        throw error;
      }
    }
  }

  /**
   * CHECK on every network (go-cni `Check`); the first failure is thrown. Lists older than 0.4.0 (such as
   * go-cni's own 0.3.1 `cni-loopback`) have no CHECK and are skipped, where go-cni would fail on them.
   */
  async check(containerId: string, netnsPath: string, opts: NamespaceOptions = {}): Promise<void> {
    for (const net of this.networks) {
      if (!atLeast(net.config.cniVersion, "0.4.0")) continue;
      await this.cni.checkNetworkList(net.config, this.rt(containerId, netnsPath, net, opts));
    }
  }

  /**
   * Ready to set up sandboxes (go-cni `Status`): the networks are loaded (loopback + at least one) and every
   * network's STATUS succeeds (1.1.0 lists).
   */
  async status(): Promise<void> {
    this.ready();
    for (const net of this.networks) await this.cni.getStatusNetworkList(net.config);
  }

  /**
   * go-cni's `Status()`: at least containerd's minimum network count (`networkAttachCount`: loopback plus
   * one network), else `ErrCNINotInitialized`.
   */
  private ready(): void {
    const want = this.options.loopback === false ? 1 : 2;
    if (this.networks.length < want) throw new CniRuntimeError(ERR_CNI_NOT_INITIALIZED, { op: "status" });
  }

  /** GC on every network with the attachments that are still in use (containerd passes every sandbox's). */
  async gc(validAttachments: Attachment[]): Promise<void> {
    const errors: string[] = [];
    for (const net of this.networks) {
      await this.cni.gcNetworkList(net.config, validAttachments).catch((e) =>
        errors.push((e as Error).message)
      );
    }
    if (errors.length > 0) throw new CniRuntimeError(errors.join("\n"), { op: "gc" });
  }

  /** The attachments (containerID, ifname) a sandbox has on these networks, for building GC's valid list. */
  attachmentsOf(containerId: string): Attachment[] {
    return this.networks.map((n) => ({ containerID: containerId, ifname: n.ifName }));
  }

  /** The cached result of one network of a sandbox (e.g. to re-read the pod IP after a restart). */
  cachedResult(containerId: string, ifName = this.defaultIfName): Result | undefined {
    const net = this.networks.find((n) => n.ifName === ifName);
    return net ? this.cni.getCachedResult(net.config, { containerId, ifName }) : undefined;
  }
}
