/**
 * The CNI runtime's own types: what a caller (the sandbox runtime, `cnilab cni`) hands to the runtime and
 * what it gets back. The spec's data types (configs, results) live in lib/cni/types.ts.
 * @module
 */
import type { Attachment, Dns, NetworkConfigList, PluginExec, Result, ResultRoute } from "../cni/mod.ts";

/** Per-invocation arguments (libcni's `RuntimeConf`). */
export interface RuntimeConf {
  /** CNI_CONTAINERID. */
  containerId: string;
  /** CNI_NETNS: a path (e.g. /var/run/netns/cni-…); may be "" on DEL. */
  netns: string;
  /** CNI_IFNAME. */
  ifName: string;
  /** CNI_ARGS as ordered key/value pairs (`K=V;K2=V2`). */
  args?: [string, string][];
  /** Capability arguments; each plugin gets only those it declares in `capabilities` as `runtimeConfig`. */
  capabilityArgs?: Record<string, unknown>;
}

/** How the runtime finds and runs plugins and where it keeps its cache (libcni's `CNIConfig`). */
export interface CniConfigOptions {
  /** CNI_PATH: plugin directories searched in order. */
  binDirs: string[];
  /** libcni's cache dir; results live in `<cacheDir>/results`. Default /var/lib/cni. */
  cacheDir?: string;
  /** Kill a plugin that runs longer than this (ms). Default 60 000. */
  timeoutMs?: number;
  /** Directory of the per-container lock files. Default /run/cnilab/cni-locks. */
  lockDir?: string;
  /** Delay between retries of an exec that failed with "text file busy" (ms). Default 1000 (libcni). */
  textBusyRetryMs?: number;
  /** Where warnings go (skipped config files, failed rollbacks). Default: stderr. */
  onWarning?: (message: string) => void;
  /** How a plugin is run (libcni's `NewCNIConfig(path, exec)`). Default: lib/cni's `rawExec`. */
  exec?: PluginExec;
}

/** One cached attachment (libcni's `NetworkAttachment`), read from a `cniCacheV1` file. */
export interface CachedAttachment {
  containerId: string;
  network: string;
  ifName: string;
  /** The cached list bytes (decoded from base64). */
  config: string;
  netns?: string;
  cniArgs?: [string, string][];
  capabilityArgs?: Record<string, unknown>;
  result?: Result;
  /** The cache file. */
  file: string;
}

/** The on-disk `cniCacheV1` record, field for field as libcni writes it. */
export interface CniCacheV1 {
  kind: "cniCacheV1";
  containerId: string;
  /** base64 of the network list bytes */
  config: string;
  ifName: string;
  networkName: string;
  netns?: string;
  cniArgs?: [string, string][];
  capabilityArgs?: Record<string, unknown>;
  result?: Result;
}

/** Options of {@link CniNetworks.load} (containerd's CRI `[cni]` settings plus where the cache lives). */
export interface CniNetworksOptions {
  /** `bin_dirs` (or `bin_dir`): plugin directories. Default ["/opt/cni/bin"]. */
  binDirs?: string[];
  /** `conf_dir`. Default /etc/cni/net.d. */
  confDir?: string;
  /** `max_conf_num`: how many config files to load (sorted byte-wise); 0 or negative = all. Default 1. */
  maxConfNum?: number;
  /** libcni cache dir (results in `<cacheDir>/results`). Default /var/lib/cni. */
  cacheDir?: string;
  /** Interface name prefix; networks get `<prefix>0`, `<prefix>1`, … in load order. Default "eth". */
  ifPrefix?: string;
  /** Add go-cni's `cni-loopback` network on `lo` (containerd does unless use_internal_loopback). Default true. */
  loopback?: boolean;
  /** Attach networks one after another (containerd's `setup_serially`); default false = concurrently. */
  setupSerially?: boolean;
  /** Per-plugin exec timeout (ms). Default 60 000. */
  timeoutMs?: number;
  lockDir?: string;
  onWarning?: (message: string) => void;
}

/** Per-sandbox options of {@link CniNetworks.setup} / remove / check (go-cni's `NamespaceOpts`). */
export interface NamespaceOptions {
  /** Labels/args passed as CNI_ARGS (containerd: IgnoreUnknown=1, K8S_POD_NAMESPACE, K8S_POD_NAME, …). */
  args?: Record<string, string>;
  /** Capability args (portMappings, bandwidth, ips, mac, dns, …). */
  capabilityArgs?: Record<string, unknown>;
}

/** One loaded network of a {@link CniNetworks}: a list and the interface name it gets. */
export interface AttachedNetwork {
  config: NetworkConfigList;
  ifName: string;
}

/** An address as go-cni reports it: the IP without its prefix, plus the CIDR and gateway. */
export interface IpConfig {
  /** `10.22.0.5` */
  ip: string;
  /** `10.22.0.5/24` */
  address: string;
  gateway?: string;
}

/** An interface in a {@link SetupResult} (go-cni's `Config`). */
export interface InterfaceConfig {
  ipConfigs: IpConfig[];
  mac?: string;
  /** The netns path for interfaces inside the sandbox; absent for host-side interfaces. */
  sandbox?: string;
}

/** What {@link CniNetworks.setup} returns (go-cni's `Result`). */
export interface SetupResult {
  /** Every interface any network reported, by name (the default `eth0` is always present). */
  interfaces: Record<string, InterfaceConfig>;
  dns: Dns[];
  routes: ResultRoute[];
  /** Each network's raw result and how long its ADD chain took, in load order. */
  networks: { name: string; ifName: string; result: Result; durationMs: number }[];
}

export type { Attachment, NetworkConfigList };
