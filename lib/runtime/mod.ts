/**
 * cnilab's CNI runtime: the box between the sandbox runtime (CRI-shaped, lib/sandbox) and the plugins,
 * shaped like libcni (containernetworking/cni) with containerd's go-cni on top.
 *
 * - {@link CniConfig}: libcni's `CNIConfig` — run one network configuration list for one attachment
 *   (ADD / CHECK / DEL / STATUS / GC): `prevResult` chaining, `runtimeConfig` filtering, the `cniCacheV1`
 *   result cache, and a per-container lock so operations on one container never overlap. Plugin lookup
 *   along CNI_PATH, the exec, validation and version negotiation are lib/cni's, shared with the plugins.
 * - {@link CniNetworks}: go-cni's facade, what containerd's CRI uses: load the conf dir (`max_conf_num`),
 *   attach `cni-loopback` on `lo` and the networks as eth0, eth1, …; `setup`, `remove`, `check`, `status`, `gc`.
 * - {@link loadNetworkConf} / {@link loadConfDir}: config discovery (libcni's and go-cni's).
 * - containerd's CRI `[cni]` settings from a real config.toml: see ./containerd.ts.
 *
 * It never imports a plugin, the sandbox runtime or a lab.
 *
 * @example
 * ```ts
 * const cni = await CniNetworks.load({ binDirs: ["/usr/lib/cni"], confDir: "/etc/cni/net.d" });
 * const res = await cni.setup("pod-1234", "/var/run/netns/cni-1234", { args: { K8S_POD_NAME: "web" } });
 * console.log(res.interfaces.eth0.ipConfigs[0].ip);
 * await cni.remove("pod-1234", "/var/run/netns/cni-1234");
 * ```
 * @module
 */
export * from "./types.ts";
export {
  CniConfig,
  CniRuntimeError,
  DEFAULT_CACHE_DIR,
  DEFAULT_LOCK_DIR,
  DEFAULT_TIMEOUT_MS,
} from "./libcni.ts";
export { CniNetworks, CONTAINERD_DEFAULTS } from "./network.ts";
export {
  confFiles,
  ConfigError,
  ERR_CNI_NOT_INITIALIZED,
  ERR_INVALID_CONFIG,
  loadConfDir,
  loadNetworkConf,
  loopbackConfList,
  parseConf,
  parseConfList,
  readConfFile,
} from "./conf.ts";
export {
  atLeast,
  compareVersions,
  convertAnyResult,
  findInPath,
  negotiateList,
  PluginNotFoundError,
} from "../cni/mod.ts";
export { cacheFilePath, readCache } from "./cache.ts";
export {
  applyConfTemplate,
  CONTAINERD_CNI_DEFAULTS,
  type ContainerdCniSettings,
  parseContainerdConfig,
  readContainerdConfig,
  renderConfTemplate,
  toNetworkOptions,
} from "./containerd.ts";
