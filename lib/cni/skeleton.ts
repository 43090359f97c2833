/**
 * The plugin side of the CNI protocol, like the Go skeleton (`pkg/skel`) of containernetworking/cni.
 *
 * A plugin executable hands its handlers to {@link dispatch}. The skeleton reads the CNI_* environment,
 * validates it, parses stdin once into a typed config, negotiates the spec version, calls the handler for
 * CNI_COMMAND with a typed {@link PluginContext}, prints the result in the version the config asked for,
 * and turns every failure into the spec's error JSON on stdout with a non-zero exit.
 *
 * Start-up matters (a plugin is exec'd for every operation): this module uses Bun's native APIs and imports
 * nothing but `node:process` and cnilab's own small CNI modules.
 * @module
 */
import { process } from "../sys/process.ts";
import { parseCniArgPairs } from "./args.ts";
import { CniError, ErrorCode } from "./errors.ts";
import { hasControlChar, isObject, optBool, optObject, optStr, optStrList } from "./fields.ts";
import { inspectNetns } from "./netns.ts";
import type { Attachment, CniCommand, CniVersion, PluginConfig, Result } from "./types.ts";
import { SUPPORTED_VERSIONS } from "./types.ts";
import { validateContainerId, validateIfname, validateNetworkName } from "./validate.ts";
import { convertResult, isSupported, LATEST, negotiate, parseDns, parseResult } from "./version.ts";

/** The commands that reach a handler (VERSION is answered by the skeleton itself). */
export type HandlerCommand = Exclude<CniCommand, "VERSION">;

/** Parsed CNI_ARGS (`K=V;K2=V2`), without `IgnoreUnknown`. */
export type CniArgs = Record<string, string>;

/** Everything a handler needs, read from the environment and stdin once. */
export interface PluginContext {
  command: HandlerCommand;
  /** CNI_CONTAINERID ("" for GC and STATUS). */
  containerId: string;
  /** CNI_NETNS: a path such as /var/run/netns/NAME or /proc/PID/ns/net ("" when not given). */
  netns: string;
  /** CNI_IFNAME ("" for GC and STATUS). */
  ifname: string;
  /** CNI_ARGS, checked against the plugin's known keys (unknown keys only with IgnoreUnknown=1). */
  args: CniArgs;
  /** CNI_PATH split on ":" (empty entries dropped). */
  path: string[];
  /** The config from stdin; `prevResult` is already parsed into the 1.x shape. */
  config: PluginConfig;
  /** The spec version to answer in. */
  version: CniVersion;
  /** The config exactly as read from stdin (what a delegated IPAM plugin gets). */
  stdin: string;
  /** GC only: the attachments the runtime still uses (`cni.dev/valid-attachments` or `cni.dev/attachments`). */
  validAttachments: Attachment[];
  /**
   * For a plugin that works inside CNI_NETNS ({@link PluginHandlers.sandbox}): "present" when CNI_NETNS is
   * a network namespace other than the plugin's own; "gone" (DEL only) when it is empty, missing or a stale
   * path that is no namespace (a plain file, a directory). "unchecked" for other plugins and commands.
   */
  sandbox: "present" | "gone" | "unchecked";
  /**
   * The plugins that delegated to this one, outermost first (cnilab's bridge sets CNILAB_DELEGATED_BY when
   * it runs its IPAM plugin; the variable passes through any plugin in between: a Go plugin's delegate
   * inherits its environment — containernetworking/cni pkg/invoke/args.go, `ArgsFromEnv` returns nil from
   * `AsEnv` ("inherit the environment from this process")). A plugin that finds its own name here was
   * reached in a loop.
   */
  delegatedBy: string[];
}

/** The handlers a plugin implements. ADD returns a result in the 1.x shape; the others return nothing. */
export interface PluginHandlers {
  add(ctx: PluginContext): Promise<Result> | Result;
  del(ctx: PluginContext): Promise<void> | void;
  check(ctx: PluginContext): Promise<void> | void;
  /** Missing: the plugin is always ready. */
  status?(ctx: PluginContext): Promise<void> | void;
  /** Missing: the plugin holds no state to collect. */
  gc?(ctx: PluginContext): Promise<void> | void;
  /** CNI_ARGS keys the plugin understands (e.g. `IP`, `MAC`); others need IgnoreUnknown=1. */
  cniArgs?: readonly string[];
  /**
   * The plugin works inside CNI_NETNS: the skeleton checks it for ADD, CHECK and DEL before the handler runs
   * (see {@link checkSandbox}).
   */
  sandbox?: boolean;
}

const COMMANDS: readonly CniCommand[] = ["ADD", "DEL", "CHECK", "GC", "STATUS", "VERSION"];

/** Which variables each command requires (per the spec's table; CNI_NETNS may be empty on DEL). */
const REQUIRED: Record<HandlerCommand, readonly string[]> = {
  ADD: ["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"],
  DEL: ["CNI_CONTAINERID", "CNI_IFNAME"],
  CHECK: ["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"],
  GC: ["CNI_PATH"],
  STATUS: [],
};

/**
 * Parses CNI_ARGS (`K=V;K2=V2`). Keys not in `known` are an error unless `IgnoreUnknown` is true
 * (`1`/`true`), as in the reference plugins (containerd and podman always pass IgnoreUnknown=1).
 */
export function parseCniArgs(text: string, known: readonly string[] = []): CniArgs {
  const args: CniArgs = {};
  const unknown: string[] = [];
  let ignoreUnknown = false;
  for (const [key, value] of parseCniArgPairs(text)) {
    if (key === "IgnoreUnknown") {
      const v = value.toLowerCase();
      if (v === "1" || v === "true") ignoreUnknown = true;
      else if (v === "0" || v === "false") ignoreUnknown = false;
      else {
        throw new CniError(
          ErrorCode.InvalidEnvironment,
          `CNI_ARGS: IgnoreUnknown must be 1, 0, true or false`,
        );
      }
      continue;
    }
    if (!known.includes(key)) unknown.push(`${key}=${value}`);
    args[key] = value;
  }
  if (unknown.length > 0 && !ignoreUnknown) {
    throw new CniError(
      ErrorCode.InvalidEnvironment,
      `CNI_ARGS: unknown args ${JSON.stringify(unknown)}`,
      `this plugin understands ${JSON.stringify(known)}; add IgnoreUnknown=1 to pass others`,
    );
  }
  return args;
}

/** Parses stdin into a plugin config (structure and the fields every plugin shares; not the plugin's own). */
export function parseConfig(stdin: string): PluginConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(stdin);
  } catch (e) {
    throw new CniError(
      ErrorCode.DecodingFailure,
      `error parsing the network config: ${(e as Error).message}`,
      "stdin must be one JSON object",
    );
  }
  if (!isObject(raw)) {
    throw new CniError(
      ErrorCode.DecodingFailure,
      "error parsing the network config: it must be a JSON object",
    );
  }
  for (const field of ["cniVersion", "name", "type"]) optStr(raw[field], field);
  optStrList(raw.cniVersions, "cniVersions");
  for (const field of ["ipam", "args", "runtimeConfig"]) optObject(raw[field], field);
  const caps = optObject(raw.capabilities, "capabilities");
  for (const [k, v] of Object.entries(caps ?? {})) optBool(v, `capabilities.${k}`);
  const ipam = optObject(raw.ipam, "ipam");
  if (ipam) optStr(ipam.type, "ipam.type");
  if (isObject(raw.args)) optObject(raw.args.cni, "args.cni");
  if (raw.dns !== undefined && raw.dns !== null) raw.dns = parseDns(raw.dns);
  if (raw.prevResult !== undefined && raw.prevResult !== null) {
    raw.prevResult = parseResult(raw.prevResult);
  }
  validateNetworkName((raw.name as string | undefined) ?? "");
  if (!raw.type) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, "missing plugin type", `set "type" in the config`);
  }
  return raw as unknown as PluginConfig;
}

/** The attachments GC must keep (`cni.dev/valid-attachments`, or the older `cni.dev/attachments`). */
function validAttachments(config: PluginConfig): Attachment[] {
  const raw = config["cni.dev/valid-attachments"] ?? config["cni.dev/attachments"] ?? [];
  if (!Array.isArray(raw)) {
    throw new CniError(ErrorCode.DecodingFailure, `"cni.dev/valid-attachments" must be a list`);
  }
  return raw.map((a, i) => {
    if (!isObject(a) || typeof a.containerID !== "string" || typeof a.ifname !== "string") {
      throw new CniError(
        ErrorCode.DecodingFailure,
        `"cni.dev/valid-attachments"[${i}] must be {"containerID": string, "ifname": string}`,
      );
    }
    return { containerID: a.containerID, ifname: a.ifname };
  });
}

/** Builds the context for a command from the environment and stdin (everything validated). */
export function readContext(
  command: HandlerCommand,
  env: Record<string, string | undefined>,
  stdin: string,
  known: readonly string[] = [],
  sandbox = false,
): PluginContext {
  const missing = REQUIRED[command].filter((k) =>
    env[k] === undefined || (k !== "CNI_NETNS" && env[k] === "")
  );
  if (missing.length > 0) {
    throw new CniError(ErrorCode.InvalidEnvironment, `required env variables [${missing.join(",")}] missing`);
  }
  const config = parseConfig(stdin);
  const perContainer = command === "ADD" || command === "DEL" || command === "CHECK";
  const containerId = perContainer ? env.CNI_CONTAINERID ?? "" : "";
  const ifname = perContainer ? env.CNI_IFNAME ?? "" : "";
  if (perContainer) {
    validateContainerId(containerId);
    validateIfname(ifname);
  }
  const version = negotiate(config);
  if (command === "CHECK" && (version === "0.3.0" || version === "0.3.1")) {
    // CHECK arrived with spec 0.4.0
    throw new CniError(
      ErrorCode.IncompatibleVersion,
      "config version does not allow CHECK",
      `CHECK needs "cniVersion" 0.4.0 or later`,
    );
  }
  if ((command === "GC" || command === "STATUS") && version !== "1.1.0") {
    throw new CniError(
      ErrorCode.IncompatibleVersion,
      `config version ${version} does not allow ${command}`,
      `${command} needs "cniVersion": "1.1.0"`,
    );
  }
  const args = perContainer ? parseCniArgs(env.CNI_ARGS ?? "", known) : {};
  const netns = perContainer ? env.CNI_NETNS ?? "" : "";
  return {
    command,
    containerId,
    netns,
    ifname,
    args,
    path: (env.CNI_PATH ?? "").split(":").filter(Boolean),
    config,
    version,
    stdin,
    validAttachments: command === "GC" ? validAttachments(config) : [],
    sandbox: sandbox && perContainer ? checkSandbox(command, netns) : "unchecked",
    delegatedBy: (env.CNILAB_DELEGATED_BY ?? "").split(",").filter(Boolean),
  };
}

/**
 * Checks CNI_NETNS for a plugin that works inside it. ADD and CHECK need a network namespace; DEL also
 * accepts an empty, missing or stale path (the sandbox is gone: the plugin releases what lives outside it).
 * Refused with code 4 for every command: the plugin's own network namespace (the host's: a runtime never
 * means it, and acting on it would configure or tear down the host's links) and a namespace of another type.
 */
export function checkSandbox(command: HandlerCommand, netns: string): "present" | "gone" {
  const fail = (why: string): never => {
    throw new CniError(
      ErrorCode.InvalidEnvironment,
      `CNI_NETNS ${JSON.stringify(netns)} ${why}`,
      "pass the path of the container's network namespace, e.g. /var/run/netns/NAME or /proc/PID/ns/net",
    );
  };
  if (netns === "") {
    if (command === "DEL") return "gone";
    fail("is empty");
  }
  // the path reaches `ip` command lines (`netns PATH`): a newline there would split one
  if (hasControlChar(netns)) fail("contains control characters");
  const ns = inspectNetns(netns);
  switch (ns.kind) {
    case "netns":
      return "present";
    case "self":
      return fail(
        "is the plugin's own network namespace (the host's), not a container's: refusing to touch it",
      );
    case "other-type":
      return fail(`is a ${ns.type} namespace, not a network namespace`);
    case "missing":
      return command === "DEL" ? "gone" : fail("does not exist");
    case "not-a-namespace":
      return command === "DEL" ? "gone" : fail(`is not a network namespace (it is ${ns.what})`);
  }
}

/** Turns anything thrown into a CniError (999 for the unexpected, as the reference plugins do). */
export function toCniError(error: unknown): CniError {
  if (error instanceof CniError) return error;
  return new CniError(ErrorCode.Internal, error instanceof Error ? error.message : String(error));
}

/** What one invocation printed and how it exited (the testable core of {@link dispatch}). */
export interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs one invocation against handlers, without touching the process (used by {@link dispatch}). */
export async function invoke(
  handlers: PluginHandlers,
  about: string,
  env: Record<string, string | undefined>,
  readStdin: () => Promise<string>,
): Promise<Outcome> {
  const command = env.CNI_COMMAND ?? "";
  if (command === "") {
    // like pkg/skel: run by hand without CNI_COMMAND, say what this is
    return {
      code: 0,
      stdout: "",
      stderr: `${about}\nCNI protocol versions supported: ${SUPPORTED_VERSIONS.join(", ")}\n`,
    };
  }
  let version: string = LATEST;
  try {
    if (!(COMMANDS as readonly string[]).includes(command)) {
      throw new CniError(
        ErrorCode.InvalidEnvironment,
        `unknown CNI_COMMAND: ${command}`,
        `use one of ${COMMANDS.join(", ")}`,
      );
    }
    const stdin = await readStdin();
    if (command === "VERSION") {
      let asked: unknown;
      try {
        asked = (JSON.parse(stdin) as { cniVersion?: unknown }).cniVersion;
      } catch {
        // VERSION needs no valid config
      }
      const answer = {
        cniVersion: isSupported(asked) ? asked : LATEST,
        supportedVersions: [...SUPPORTED_VERSIONS],
      };
      return { code: 0, stdout: JSON.stringify(answer) + "\n", stderr: "" };
    }
    // the error JSON answers in the config's version as soon as it is known
    try {
      const v = (JSON.parse(stdin) as { cniVersion?: unknown }).cniVersion;
      if (isSupported(v)) version = v;
    } catch {
      // reported by parseConfig
    }
    const ctx = readContext(command as HandlerCommand, env, stdin, handlers.cniArgs, handlers.sandbox);
    version = ctx.version;
    switch (ctx.command) {
      case "ADD": {
        const result = await handlers.add(ctx);
        return {
          code: 0,
          stdout: JSON.stringify(convertResult(result, ctx.version), null, 4) + "\n",
          stderr: "",
        };
      }
      case "DEL":
        await handlers.del(ctx);
        break;
      case "CHECK":
        await handlers.check(ctx);
        break;
      case "STATUS":
        await handlers.status?.(ctx);
        break;
      case "GC":
        await handlers.gc?.(ctx);
        break;
    }
    return { code: 0, stdout: "", stderr: "" };
  } catch (error) {
    const e = toCniError(error);
    return { code: 1, stdout: JSON.stringify(e.toJSON(version), null, 4) + "\n", stderr: "" };
  }
}

interface BunIo {
  stdin: { text(): Promise<string> };
  stdout: unknown;
  stderr: unknown;
  write(dest: unknown, data: string): Promise<number>;
}

const versionOnly = (): never => {
  throw new Error("only VERSION is answered without the plugin's module");
};
const SKELETON_ONLY: PluginHandlers = { add: versionOnly, del: versionOnly, check: versionOnly };

/**
 * Answers CNI_COMMAND=VERSION without the plugin's module: the skeleton answers it alone (the same
 * supportedVersions for every cnilab plugin), so a multi-call binary need not load the plugin first.
 */
export function dispatchVersion(): Promise<never> {
  return dispatch(SKELETON_ONLY, "");
}

/**
 * The plugin's main: reads the environment and stdin, calls the handler for CNI_COMMAND, prints the
 * result or the error JSON on stdout and exits (0 on success, 1 on error).
 */
export async function dispatch(handlers: PluginHandlers, about: string): Promise<never> {
  const bun = (globalThis as unknown as { Bun: BunIo }).Bun;
  const outcome = await invoke(handlers, about, process.env, () => bun.stdin.text());
  if (outcome.stdout) await bun.write(bun.stdout, outcome.stdout);
  if (outcome.stderr) await bun.write(bun.stderr, outcome.stderr);
  process.exit(outcome.code);
}
