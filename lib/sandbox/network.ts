/**
 * The sandbox runtime's view of pod networking: one narrow interface, {@link NetworkSetup}, and its one real
 * implementation, {@link CniPodNetwork}, on top of cnilab's CNI runtime (lib/runtime, go-cni-shaped) — the
 * way containerd's CRI plugin sits on go-cni. The sandbox runtime never runs a plugin itself.
 *
 * Which CNI config a pod uses:
 * - `--conf-dir DIR [--bin-dir DIR[:DIR…]]`: that conf dir, loaded as containerd does (first `max_conf_num`
 *   files, sorted), plugins searched along the bin dirs (default: cnilab's built plugins in dist/cni when
 *   they exist, then /usr/lib/cni);
 * - otherwise cnilab's own default conflist, written into the pod's directory: `bridge` on the bridge
 *   `cnilab0` (gateway 10.89.0.1) with `host-local` addresses from 10.89.0.0/16, plus go-cni's loopback.
 * @module
 */
import { existsSync } from "node:fs";
import type { CniNetworks } from "../runtime/mod.ts";
import type { SetupResult } from "../runtime/types.ts";
import { type Owned, registerTeardown, STATE_DIR } from "../ownership/mod.ts";
import { PLUGIN_DIR, REPO_ROOT } from "../util/mod.ts";

/** Where the repository is (for dist/cni and bin/cnilab). */
export { REPO_ROOT };

/** cnilab's own plugin executables, when built. */
export const CNILAB_PLUGIN_DIR = PLUGIN_DIR;

/** Debian's reference plugins (package containernetworking-plugins). */
export const REFERENCE_PLUGIN_DIR = "/usr/lib/cni";

/** The default network's bridge, subnet, name and host-local data dir (under /run, like the netns pins). */
export const DEFAULT_NETWORK = {
  name: "cnilab-pods",
  bridge: "cnilab0",
  subnet: "10.89.0.0/16",
  gateway: "10.89.0.1",
  ipamDataDir: `${STATE_DIR}/ipam`,
} as const;

/** Which plugin executables the default network uses: cnilab's own (`cnilab-bridge`, …) or the reference ones. */
export type PluginSet = "cnilab" | "reference";

/** cnilab's plugins when they are built (dist/cni), else the reference plugins. */
export function defaultPluginSet(): PluginSet {
  return existsSync(`${CNILAB_PLUGIN_DIR}/cnilab-bridge`) &&
      existsSync(`${CNILAB_PLUGIN_DIR}/cnilab-host-local`)
    ? "cnilab"
    : "reference";
}

/** The conflist cnilab uses when no conf dir is given. */
export function defaultConflist(plugins: PluginSet = defaultPluginSet()): string {
  const prefix = plugins === "cnilab" ? "cnilab-" : "";
  return JSON.stringify(
    {
      cniVersion: "1.0.0",
      name: DEFAULT_NETWORK.name,
      plugins: [
        {
          type: `${prefix}bridge`,
          bridge: DEFAULT_NETWORK.bridge,
          isGateway: true,
          ipMasq: false,
          hairpinMode: true,
          ipam: {
            type: `${prefix}host-local`,
            ranges: [[{ subnet: DEFAULT_NETWORK.subnet, gateway: DEFAULT_NETWORK.gateway }]],
            routes: [{ dst: "0.0.0.0/0" }],
            dataDir: DEFAULT_NETWORK.ipamDataDir,
          },
        },
      ],
    },
    null,
    2,
  ) + "\n";
}

/**
 * Removes what the default network leaves on the host once no pod uses it: the bridge (when it has no
 * ports left) and host-local's data dir (when it holds no reservation, only `lock` and `last_reserved_ip.*`).
 * Kubernetes leaves cni0 standing; cnilab leaves the host as it found it. A shell script, so the ownership
 * journal can replay it after a crash; it only ever removes cnilab's bridge and directories.
 */
export function defaultNetworkTidyScript(): string {
  const br = DEFAULT_NETWORK.bridge;
  const dir = `${DEFAULT_NETWORK.ipamDataDir}/${DEFAULT_NETWORK.name}`;
  return [
    `if [ -d /sys/class/net/${br}/brif ] && [ -z "$(ls /sys/class/net/${br}/brif)" ]; then ip link delete ${br}; fi`,
    `if [ -d ${dir} ]; then busy=; for f in ${dir}/*; do case "$f" in ${dir}/lock|${dir}/last_reserved_ip.*) ;; *) busy=1 ;; esac; done;`,
    `  [ -n "$busy" ] || { rm -f ${dir}/lock ${dir}/last_reserved_ip.*; rmdir ${dir} ${DEFAULT_NETWORK.ipamDataDir} 2>/dev/null; }; fi`,
  ].join("\n");
}

/** Plugin directories: cnilab's built plugins first when they exist, then the reference plugins. */
export function defaultBinDirs(): string[] {
  return existsSync(CNILAB_PLUGIN_DIR) ? [CNILAB_PLUGIN_DIR, REFERENCE_PLUGIN_DIR] : [REFERENCE_PLUGIN_DIR];
}

/** What a sandbox's network is, as stored in its state (enough to tear it down from another process). */
export interface NetworkDescription {
  kind: "cni";
  confDir: string;
  binDirs: string[];
  maxConfNum: number;
  /** libcni cache dir (results under `<cacheDir>/results`); absent = the runtime's default /var/lib/cni. */
  cacheDir?: string;
  /** Per-container lock files (libcni-style); absent = the runtime's default. */
  lockDir?: string;
  /** True when confDir holds cnilab's default conflist (written for this pod). */
  defaultConf: boolean;
  /** With the default conflist: whose bridge and host-local it runs. */
  plugins?: PluginSet;
}

/** What the sandbox runtime hands to the network layer: the CRI-side facts of the sandbox. */
export interface PodNetworkRequest {
  /** Sandbox ID, used as CNI_CONTAINERID (as containerd does). */
  id: string;
  netnsPath: string;
  /** CNI_ARGS (containerd's labels: IgnoreUnknown, K8S_POD_NAMESPACE, K8S_POD_NAME, …). */
  args: Record<string, string>;
  /** Capability args (containerd: pod annotations, port mappings, …). */
  capabilityArgs: Record<string, unknown>;
}

/** What CNI ADD gave the pod. */
export interface PodNetworkStatus {
  /** Addresses of eth0 (`10.89.0.5/16`). */
  ips: string[];
  /** The pod IP (first address of eth0, without prefix). */
  ip?: string;
  /** Interfaces inside the sandbox, by name, with their addresses. */
  interfaces: Record<string, { mac?: string; addresses: string[] }>;
  /** Each network's ADD duration. */
  networks: { name: string; ifName: string; durationMs: number }[];
}

/** The narrow interface between the sandbox runtime and pod networking. */
export interface NetworkSetup {
  readonly description: NetworkDescription;
  /** CNI ADD of every configured network (loopback first). */
  setup(req: PodNetworkRequest): Promise<PodNetworkStatus>;
  /** CNI DEL of every configured network; succeeds when things are already gone. */
  teardown(req: PodNetworkRequest): Promise<void>;
  /** Its teardown as a journal entry (the typed undo below), recorded before ADD. */
  undo(req: PodNetworkRequest): Owned;
}

/** Pod networking through cnilab's CNI runtime (go-cni's `CNI.Setup` / `CNI.Remove`). */
export class CniPodNetwork implements NetworkSetup {
  private networks?: Promise<CniNetworks>;

  constructor(readonly description: NetworkDescription) {}

  private load(): Promise<CniNetworks> {
    // loaded on first use: `pod ls`, `pod logs` and `pod exec` never need the CNI runtime
    this.networks ??= import("../runtime/mod.ts").then(({ CniNetworks }) =>
      CniNetworks.load({
        confDir: this.description.confDir,
        binDirs: this.description.binDirs,
        maxConfNum: this.description.maxConfNum,
        cacheDir: this.description.cacheDir,
        lockDir: this.description.lockDir,
      })
    );
    return this.networks;
  }

  /** Loads the conf dir now, so a bad config fails before the sandbox is created. */
  async validate(): Promise<void> {
    await this.load();
  }

  /**
   * The networks as containerd's CRI plugin holds them after a load (go-cni `Load`): never throws; a
   * conf dir that did not load leaves cni-loopback only, and `loadError` says why (see CniNetworks.loadForCri).
   */
  async networksForCri(): Promise<CniNetworks> {
    const { CniNetworks } = await import("../runtime/mod.ts");
    return CniNetworks.loadForCri({
      confDir: this.description.confDir,
      binDirs: this.description.binDirs,
      maxConfNum: this.description.maxConfNum,
      cacheDir: this.description.cacheDir,
      lockDir: this.description.lockDir,
    });
  }

  async setup(req: PodNetworkRequest): Promise<PodNetworkStatus> {
    const cni = await this.load();
    const result = await cni.setup(req.id, req.netnsPath, {
      args: req.args,
      capabilityArgs: req.capabilityArgs,
    });
    return toStatus(result);
  }

  async teardown(req: PodNetworkRequest): Promise<void> {
    const cni = await this.load();
    await cni.remove(req.id, req.netnsPath, { args: req.args, capabilityArgs: req.capabilityArgs });
  }

  undo(req: PodNetworkRequest): Owned {
    const data: PodNetworkUndo = { network: this.description, req };
    return {
      kind: "teardown",
      name: POD_NETWORK_TEARDOWN,
      what: `CNI DEL of sandbox ${req.id.slice(0, 13)}`,
      data,
    };
  }
}

/** The name of the pod network's teardown in the ownership journal. */
export const POD_NETWORK_TEARDOWN = "sandbox.pod-network";

/** What the journal keeps for it: enough to run the CNI DEL from any process (`cnilab clean`). */
interface PodNetworkUndo {
  network: NetworkDescription;
  req: PodNetworkRequest;
}

// a pod's CNI DEL, for whichever process releases the pod's owner: the pod's own, or `cnilab clean` after a
// kill -9 (lib/cli/main.ts loads this module for every command)
registerTeardown(POD_NETWORK_TEARDOWN, async (data) => {
  const { network, req } = data as PodNetworkUndo;
  if (!network?.confDir || !req?.id) {
    throw new Error("the pod network's journal entry lacks its network or request");
  }
  await networkFromDescription(network).teardown(req);
});

/** Turns go-cni's result into what the sandbox keeps. */
export function toStatus(result: SetupResult): PodNetworkStatus {
  const interfaces: PodNetworkStatus["interfaces"] = {};
  for (const [name, cfg] of Object.entries(result.interfaces)) {
    if (!cfg.sandbox) continue;
    interfaces[name] = { mac: cfg.mac, addresses: cfg.ipConfigs.map((c) => c.address) };
  }
  const eth0 = result.interfaces.eth0?.ipConfigs ?? [];
  return {
    ips: eth0.map((c) => c.address),
    ip: eth0[0]?.ip,
    interfaces,
    networks: result.networks.map((n) => ({ name: n.name, ifName: n.ifName, durationMs: n.durationMs })),
  };
}

/** The CNI network of a stored sandbox (for stop/remove from another process). */
export function networkFromDescription(d: NetworkDescription): NetworkSetup {
  return new CniPodNetwork(d);
}
