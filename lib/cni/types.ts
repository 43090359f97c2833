/**
 * The CNI specification's data types (spec 1.1.0, with the older result shapes cnilab still speaks).
 * Shared by the plugins (lib/plugins) and the runtime (lib/runtime); neither imports the other.
 * @module
 */

/** Spec versions cnilab's plugins and runtime understand, oldest first. */
export const SUPPORTED_VERSIONS = ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"] as const;

/** A supported spec version. */
export type CniVersion = typeof SUPPORTED_VERSIONS[number];

/** The CNI operations (CNI_COMMAND). */
export type CniCommand = "ADD" | "DEL" | "CHECK" | "GC" | "STATUS" | "VERSION";

/** An IPAM section of a plugin config (its `type` names the IPAM plugin to delegate to). */
export interface IpamConfig {
  type: string;
  [key: string]: unknown;
}

/** DNS settings, in configs and results. */
export interface Dns {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

/** One plugin's configuration inside a network configuration list. */
export interface PluginConfig {
  type: string;
  /** Set by the runtime on each plugin's stdin. */
  cniVersion?: string;
  name?: string;
  capabilities?: Record<string, boolean>;
  ipam?: IpamConfig;
  dns?: Dns;
  args?: Record<string, unknown>;
  runtimeConfig?: Record<string, unknown>;
  prevResult?: Result;
  [key: string]: unknown;
}

/**
 * A loaded network configuration list (libcni's `NetworkConfigList`): the unit a runtime attaches a
 * container to. A `.conf`/`.json` file is up-converted into a one-plugin list, as libcni's
 * `ConfListFromConf` does.
 */
export interface NetworkConfigList {
  /** Network name (`name` of the list). */
  name: string;
  /** The negotiated spec version: the highest of `cniVersion`/`cniVersions` this runtime supports. */
  cniVersion: string;
  /** What the file declared, before negotiation. */
  declaredVersions: string[];
  disableCheck: boolean;
  disableGC: boolean;
  /** Plugin configs in chain order (as written, without the runtime's injected keys). */
  plugins: PluginConfig[];
  /** The list as JSON text: the file's bytes for a `.conflist`, the up-converted list for a `.conf`. Cached base64. */
  bytes: string;
  /** The file it came from, when it came from a file. */
  file?: string;
}

/** An interface in a result. `sandbox` is the netns path for interfaces inside the container. */
export interface ResultInterface {
  name: string;
  mac?: string;
  mtu?: number;
  sandbox?: string;
  socketPath?: string;
  pciID?: string;
}

/** An address in a result; `interface` indexes `interfaces`. */
export interface ResultIp {
  address: string;
  gateway?: string;
  interface?: number;
  /** Only in 0.3.x/0.4.0 results. */
  version?: "4" | "6";
}

/** A route in a result. */
export interface ResultRoute {
  dst: string;
  gw?: string;
  mtu?: number;
  advmss?: number;
  priority?: number;
  table?: number;
  scope?: number;
}

/** An ADD result (the 1.x shape; 0.3.x/0.4.0 add `ips[].version`). */
export interface Result {
  cniVersion: string;
  interfaces?: ResultInterface[];
  ips?: ResultIp[];
  routes?: ResultRoute[];
  dns?: Dns;
}

/** An attachment: one container's interface on one network (the unit of the result cache and GC). */
export interface Attachment {
  containerID: string;
  ifname: string;
}
