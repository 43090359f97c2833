/**
 * The CNI protocol, once, for both of its sides: the plugin side (lib/plugins, through the skeleton) and
 * the runtime side (lib/runtime, libcni-shaped). Like containernetworking/cni, where `pkg/skel` and
 * `libcni` share `pkg/types`, `pkg/utils` and `pkg/invoke`, neither side has its own copy of:
 *
 * - the spec's types ({@link NetworkConfigList}, {@link PluginConfig}, {@link Result}) and error codes
 *   ({@link ErrorCode}, {@link CniError}, the runtime's {@link CniRuntimeError});
 * - the name checks ({@link validateContainerId}, {@link validateNetworkName}, {@link validateIfname});
 * - plugin lookup along CNI_PATH and exec with the "text file busy" retry ({@link findInPath},
 *   {@link rawExec}; {@link execPlugin} for a plugin delegating to another);
 * - CNI_ARGS ({@link parseCniArgPairs}, {@link formatCniArgs});
 * - spec versions and result shapes ({@link negotiate}, {@link negotiateList}, {@link convertResult},
 *   {@link parseResult}).
 *
 * The plugin's main ({@link dispatch}) lives in ./skeleton.ts; a compiled plugin imports that file
 * directly, so its start-up loads only what it uses.
 *
 * @example
 * ```ts
 * import { cniEnv, findInPath, rawExec } from "./lib/cni/mod.ts";
 *
 * const exe = findInPath("loopback", ["/opt/cni/bin"]);
 * const env = cniEnv({ command: "VERSION", path: ["/opt/cni/bin"] });
 * const { stdout } = await rawExec(exe, JSON.stringify({ cniVersion: "1.1.0" }), env);
 * console.log(JSON.parse(stdout).supportedVersions);
 * ```
 * @module
 */
export { formatCniArgs, parseCniArgPairs } from "./args.ts";
export { CniError, CniRuntimeError, type CniRuntimeErrorOptions, ErrorCode } from "./errors.ts";
export {
  cniEnv,
  type ExecOptions,
  type ExecOutput,
  execPlugin,
  findInPath,
  type InvokeArgs,
  type PluginExec,
  PluginNotFoundError,
  rawExec,
} from "./exec.ts";
export { inspectNetns, type NetnsKind } from "./netns.ts";
export { dispatch, type PluginContext, type PluginHandlers, readContext } from "./skeleton.ts";
export * from "./types.ts";
export { validateContainerId, validateIfname, validateNetworkName } from "./validate.ts";
export {
  atLeast,
  compareVersions,
  convertAnyResult,
  convertResult,
  isSupported,
  LATEST,
  negotiate,
  negotiateList,
  parseResult,
} from "./version.ts";
