/**
 * IPAM delegation: run `ipam.type`, found along CNI_PATH, for ADD/DEL/CHECK/STATUS/GC.
 *
 * Normally that is an exec (lib/cni/exec.ts), exactly as the reference bridge does, so the reference
 * host-local works behind cnilab-bridge. One shortcut: when the executable found IS this very multi-call
 * binary (same inode as /proc/self/exe, e.g. dist/cni/cnilab-host-local next to cnilab-bridge), exec'ing
 * it would start the same code in a new process (~9 ms of Bun start-up per call), so its handlers run
 * in-process instead, through the same skeleton entry point (`invoke`) with the same environment and
 * stdin, and its printed result is parsed the same way. Set CNILAB_IPAM_EXEC=1 to always exec.
 * @module
 */
import { statSync } from "node:fs";
import process from "node:process";
import { CniError, ErrorCode } from "../../cni/errors.ts";
import { execPlugin, findPlugin } from "../../cni/exec.ts";
import { invoke } from "../../cni/skeleton.ts";
import type { CniCommand, Result } from "../../cni/types.ts";
import { parseResult } from "../../cni/version.ts";
import type { PluginContext } from "../plugin.ts";
import { PLUGINS } from "../registry.ts";

function sameFile(a: string, b: string): boolean {
  try {
    const x = statSync(a);
    const y = statSync(b);
    return x.ino === y.ino && x.dev === y.dev;
  } catch {
    return false;
  }
}

/** Runs the IPAM plugin `type` for `command` with the bridge's own stdin and environment. */
export async function delegate(
  type: string,
  command: Exclude<CniCommand, "VERSION">,
  ctx: PluginContext,
): Promise<Result | undefined> {
  const exe = findPlugin(type, ctx.path);
  const load = PLUGINS[exe.split("/").pop() ?? ""];
  if (!load || process.env.CNILAB_IPAM_EXEC === "1" || !sameFile(exe, "/proc/self/exe")) {
    return await execPlugin(type, command, ctx.stdin, ctx.path);
  }
  const { plugin } = await load();
  const out = await invoke(
    plugin,
    plugin.about,
    { ...process.env, CNI_COMMAND: command },
    () => Promise.resolve(ctx.stdin),
  );
  if (out.code !== 0) {
    throw CniError.parse(out.stdout) ??
      new CniError(ErrorCode.Internal, `plugin ${type} ${command} failed`, out.stdout.slice(0, 300));
  }
  if (command !== "ADD") return undefined;
  return parseResult(JSON.parse(out.stdout), `the result of plugin ${type}`);
}
