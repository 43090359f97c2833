/**
 * Finding a plugin along CNI_PATH and executing it: libcni's `pkg/invoke`.
 *
 * A plugin is an executable named after the config's `type`. It gets the operation in the CNI_* environment
 * and its config as JSON on stdin; it answers with JSON on stdout (a result, or the spec's error object).
 * @module
 */
import { statSync } from "node:fs";
import { join } from "node:path";
import type { CniCommand } from "../cni/types.ts";
import { CniError } from "../cni/errors.ts";
import { run } from "../shell/mod.ts";

/** No executable for a plugin type in any CNI_PATH dir; the message names the dirs searched. */
export class PluginNotFoundError extends Error {
  constructor(readonly plugin: string, readonly dirs: string[], reason?: string) {
    super(
      reason ??
        `failed to find plugin "${plugin}" in path [${dirs.join(" ")}]` +
          (dirs.length === 0 ? " (CNI_PATH is empty: set it, e.g. CNI_PATH=/usr/lib/cni)" : ""),
    );
    this.name = "PluginNotFoundError";
  }
}

/**
 * The plugin executable for `type`: the first regular, executable file named `type` in `dirs`
 * (libcni's `FindInPath`; cnilab additionally requires the execute bit so the error says so early).
 */
export function findInPath(type: string, dirs: string[]): string {
  if (type === "") throw new PluginNotFoundError(type, dirs, "no plugin name provided");
  if (type.includes("/")) throw new PluginNotFoundError(type, dirs, `invalid plugin name: ${type}`);
  const candidates: string[] = [];
  for (const dir of dirs) {
    if (dir === "") continue;
    const full = join(dir, type);
    try {
      const st = statSync(full);
      if (!st.isFile()) continue;
      if ((st.mode & 0o111) === 0) {
        candidates.push(`${full} is not executable`);
        continue;
      }
      return full;
    } catch {
      // not in this dir
    }
  }
  const err = new PluginNotFoundError(type, dirs);
  if (candidates.length > 0) err.message += ` (${candidates.join("; ")})`;
  throw err;
}

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
    CNI_ARGS: (args.pluginArgs ?? []).map(([k, v]) => `${k}=${v}`).join(";"),
    CNI_IFNAME: args.ifName ?? "",
    CNI_PATH: args.path.join(":"),
  };
}

/** Options of {@link execPlugin}. */
export interface ExecOptions {
  timeoutMs: number;
  /** Delay between "text file busy" retries (libcni retries 5 times, one second apart). */
  textBusyRetryMs: number;
}

/** A plugin invocation failed: its CNI error (code, msg, details), a timeout, or a crash. */
export class PluginExecError extends Error {
  constructor(
    message: string,
    /** The spec's error code when the plugin printed one. */
    readonly code: number | undefined,
    readonly details: string,
    readonly stderr: string,
    readonly timedOut: boolean,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = "PluginExecError";
  }
}

/** What a successful invocation printed. */
export interface ExecOutput {
  stdout: string;
  stderr: string;
  durationMs: number;
}

const TEXT_BUSY = /ETXTBSY|text file (is )?busy/i;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Runs a plugin: CNI_* environment, `stdin` as its config, killed after `timeoutMs`. Retries up to five
 * times when the executable is being written ("text file busy"), as libcni does. Throws a
 * {@link PluginExecError} carrying the plugin's error object (libcni reads stdout first, then stderr).
 */
export async function execPlugin(
  pluginPath: string,
  stdin: string,
  args: InvokeArgs,
  opts: ExecOptions,
): Promise<ExecOutput> {
  const env = cniEnv(args);
  for (let attempt = 0;; attempt++) {
    let result;
    try {
      result = await run([pluginPath], {
        stdin,
        env,
        timeoutMs: opts.timeoutMs,
        check: false,
        // CHECK, STATUS and VERSION only look; the transcript shows them as reads
        purpose: ["CHECK", "STATUS", "VERSION"].includes(args.command) ? "read" : "action",
      });
    } catch (error) {
      // only the exec itself is retried (the plugin never started); a plugin that ran is never re-run
      if (TEXT_BUSY.test(String(error)) && attempt < 5) {
        await sleep(opts.textBusyRetryMs);
        continue;
      }
      throw new PluginExecError(
        `failed to exec ${pluginPath}: ${(error as Error).message}`,
        undefined,
        "",
        "",
        false,
        -1,
      );
    }
    // the exec itself failed because the executable is being written: the plugin never started
    if (result.code === 126 && TEXT_BUSY.test(result.stderr) && attempt < 5) {
      await sleep(opts.textBusyRetryMs);
      continue;
    }
    if (result.code === 0) {
      return { stdout: result.stdout, stderr: result.stderr, durationMs: result.durationMs };
    }
    const timedOut = result.code === 124 && result.durationMs >= opts.timeoutMs * 0.9;
    if (timedOut) {
      throw new PluginExecError(
        `timed out after ${opts.timeoutMs} ms (plugin killed)`,
        undefined,
        "",
        result.stderr,
        true,
        result.code,
      );
    }
    const stdout = result.stdout.trim();
    const stderr = result.stderr.trim();
    if (stdout === "") {
      const msg = stderr === ""
        ? `netplugin failed with no error message: exit status ${result.code}`
        : `netplugin failed: ${JSON.stringify(stderr)}: exit status ${result.code}`;
      throw new PluginExecError(msg, undefined, "", result.stderr, false, result.code);
    }
    const cniError = CniError.parse(stdout);
    if (!cniError) {
      throw new PluginExecError(
        `netplugin failed but error parsing its diagnostic message ${JSON.stringify(stdout)}`,
        undefined,
        "",
        result.stderr,
        false,
        result.code,
      );
    }
    const text = cniError.details ? `${cniError.message}; ${cniError.details}` : cniError.message;
    throw new PluginExecError(text, cniError.code, cniError.details, result.stderr, false, result.code);
  }
}
