/**
 * Finding a plugin along CNI_PATH and executing it, once for both sides of the protocol (containernetworking/
 * cni's `pkg/invoke`, which `libcni` and a delegating plugin share):
 *
 * - {@link findInPath}: the first regular, executable file named after the config's `type`;
 * - {@link rawExec}: runs it with the CNI_* environment and the config on stdin, retrying while the
 *   executable is "text file busy", and turns its error JSON into a {@link CniRuntimeError};
 * - {@link execPlugin}: delegation, a plugin running another plugin the way the reference bridge runs its
 *   IPAM plugin (same environment except CNI_COMMAND; its error JSON becomes the plugin's own CniError).
 * @module
 */
import type { Purpose } from "../events/mod.ts";
import { run } from "../shell/mod.ts";
import { statPath } from "../sys/fs.ts";
import { formatCniArgs } from "./args.ts";
import { CniError, CniRuntimeError, ErrorCode } from "./errors.ts";
import type { CniCommand, Result } from "./types.ts";
import { parseResult } from "./version.ts";

/** No executable for a plugin type in any CNI_PATH dir (code 7); the message names the dirs searched. */
export class PluginNotFoundError extends CniError {
  constructor(readonly plugin: string, readonly dirs: string[], reason?: string) {
    super(
      ErrorCode.InvalidNetworkConfig,
      reason ??
        `failed to find plugin "${plugin}" in path [${dirs.join(" ")}]` +
          (dirs.length === 0 ? " (CNI_PATH is empty: set it, e.g. CNI_PATH=/usr/lib/cni)" : ""),
      "install it into one of the CNI_PATH directories or fix CNI_PATH",
    );
    this.name = "PluginNotFoundError";
  }
}

/**
 * The plugin executable for `type`: the first regular, executable file named `type` in `dirs`
 * (libcni's `FindInPath`; cnilab additionally requires the execute bit so the error says so early).
 */
export function findInPath(type: string, dirs: readonly string[]): string {
  if (type === "") throw new PluginNotFoundError(type, [...dirs], "no plugin name provided");
  if (type.includes("/")) throw new PluginNotFoundError(type, [...dirs], `invalid plugin name: ${type}`);
  const candidates: string[] = [];
  for (const dir of dirs) {
    if (dir === "") continue;
    const full = `${dir.replace(/\/+$/, "")}/${type}`;
    // through libc, not node:fs: a delegating plugin looks up its IPAM plugin on every call
    const st = statPath(full);
    if (!st?.isFile) continue;
    if ((st.mode & 0o111) === 0) {
      candidates.push(`${full} is not executable`);
      continue;
    }
    return full;
  }
  const err = new PluginNotFoundError(type, [...dirs]);
  if (candidates.length > 0) err.message += ` (${candidates.join("; ")})`;
  throw err;
}

/** The plugin side's name for {@link findInPath} (a delegating plugin's lookup). */
export const findPlugin = findInPath;

/** The CNI_* variables of one invocation (libcni's `invoke.Args`). */
export interface InvokeArgs {
  command: CniCommand;
  containerId?: string;
  netns?: string;
  ifName?: string;
  /** CNI_ARGS pairs, joined as `K=V;K2=V2`. */
  pluginArgs?: [string, string][];
  /** CNI_PATH dirs. */
  path: string[];
}

/** The environment libcni sets: all six CNI_* variables (empty when not applicable), over the caller's. */
export function cniEnv(args: InvokeArgs): Record<string, string> {
  return {
    CNI_COMMAND: args.command,
    CNI_CONTAINERID: args.containerId ?? "",
    CNI_NETNS: args.netns ?? "",
    CNI_ARGS: formatCniArgs(args.pluginArgs ?? []),
    CNI_IFNAME: args.ifName ?? "",
    CNI_PATH: args.path.join(":"),
  };
}

/** Options of {@link rawExec}. */
export interface ExecOptions {
  /** Kill a plugin that runs longer than this (ms). @default no limit */
  timeoutMs?: number;
  /** Delay between "text file busy" retries (libcni retries 5 times, one second apart). @default 1000 */
  textBusyRetryMs?: number;
  /** How the transcript shows the run. @default "action" */
  purpose?: Purpose;
}

/** What a successful invocation printed. */
export interface ExecOutput {
  stdout: string;
  stderr: string;
  durationMs: number;
}

/**
 * How a runtime runs one plugin (pkg/invoke's `Exec` interface): libcni takes it from its caller, as
 * `libcni.NewCNIConfig(path, exec)` does; {@link rawExec} is the real one.
 */
export type PluginExec = (
  pluginPath: string,
  stdin: string,
  env: Record<string, string>,
  opts: ExecOptions,
) => Promise<ExecOutput>;

const TEXT_BUSY = /ETXTBSY|text file (is )?busy/i;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Runs a plugin: `env` over the caller's environment, `stdin` as its config, killed after `timeoutMs`.
 * Retries up to five times when the executable is being written ("text file busy"), as libcni does. Throws a
 * {@link CniRuntimeError} carrying the plugin's error object (libcni reads stdout first, then stderr); when
 * the plugin printed the spec's error JSON, its {@link CniError} is the `cause`.
 */
export async function rawExec(
  pluginPath: string,
  stdin: string,
  env: Record<string, string>,
  opts: ExecOptions = {},
): Promise<ExecOutput> {
  const retryMs = opts.textBusyRetryMs ?? 1000;
  for (let attempt = 0;; attempt++) {
    let result;
    try {
      result = await run([pluginPath], {
        stdin,
        env,
        timeoutMs: opts.timeoutMs,
        check: false,
        purpose: opts.purpose,
      });
    } catch (error) {
      // only the exec itself is retried (the plugin never started); a plugin that ran is never re-run
      if (TEXT_BUSY.test(String(error)) && attempt < 5) {
        await sleep(retryMs);
        continue;
      }
      throw new CniRuntimeError(`failed to exec ${pluginPath}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    // the exec itself failed because the executable is being written: the plugin never started
    if (result.code === 126 && TEXT_BUSY.test(result.stderr) && attempt < 5) {
      await sleep(retryMs);
      continue;
    }
    if (result.code === 0) {
      return { stdout: result.stdout, stderr: result.stderr, durationMs: result.durationMs };
    }
    const printed = { stdout: result.stdout, stderr: result.stderr, exitCode: result.code };
    if (opts.timeoutMs !== undefined && result.code === 124 && result.durationMs >= opts.timeoutMs * 0.9) {
      throw new CniRuntimeError(`timed out after ${opts.timeoutMs} ms (plugin killed)`, {
        ...printed,
        timedOut: true,
      });
    }
    const stdout = result.stdout.trim();
    const stderr = result.stderr.trim();
    if (stdout === "") {
      const msg = stderr === ""
        ? `netplugin failed with no error message: exit status ${result.code}`
        : `netplugin failed: ${JSON.stringify(stderr)}: exit status ${result.code}`;
      throw new CniRuntimeError(msg, printed);
    }
    const cniError = CniError.parse(stdout);
    if (!cniError) {
      throw new CniRuntimeError(
        `netplugin failed but error parsing its diagnostic message ${JSON.stringify(stdout)}`,
        printed,
      );
    }
    const text = cniError.details ? `${cniError.message}; ${cniError.details}` : cniError.message;
    throw new CniRuntimeError(text, {
      ...printed,
      code: cniError.code,
      details: cniError.details,
      cause: cniError,
    });
  }
}

/**
 * Delegation: runs plugin `type` for `command` with `stdin` as its config, the plugin's own environment
 * except CNI_COMMAND (and `extraEnv` added). ADD resolves to its result (1.x shape); the other commands to
 * undefined. A failure rejects with the delegate's own CniError (its code, msg and details).
 */
export async function execPlugin(
  type: string,
  command: Exclude<CniCommand, "VERSION">,
  stdin: string,
  path: readonly string[],
  extraEnv: Record<string, string> = {},
): Promise<Result | undefined> {
  const exe = findInPath(type, path);
  let out: ExecOutput;
  try {
    out = await rawExec(exe, stdin, { ...extraEnv, CNI_COMMAND: command }, { textBusyRetryMs: 50 });
  } catch (error) {
    if (!(error instanceof CniRuntimeError)) throw error;
    if (error.cause instanceof CniError) throw error.cause;
    if (error.exitCode === -1) throw new CniError(ErrorCode.Internal, error.message);
    const said = (error.stderr.trim() || error.stdout.trim()).slice(0, 300);
    throw new CniError(
      ErrorCode.Internal,
      `plugin ${type} ${command} failed with exit code ${error.exitCode}`,
      said,
    );
  }
  if (command !== "ADD") return undefined;
  let json: unknown;
  try {
    json = JSON.parse(out.stdout);
  } catch {
    throw new CniError(
      ErrorCode.DecodingFailure,
      `plugin ${type} printed no JSON result`,
      out.stdout.slice(0, 300),
    );
  }
  return parseResult(json, `the result of plugin ${type}`);
}
