/**
 * IPAM delegation: run `ipam.type`, found along CNI_PATH, for ADD/DEL/CHECK/STATUS/GC.
 *
 * Normally that is an exec (lib/cni/exec.ts), exactly as the reference bridge does, so the reference
 * host-local works behind cnilab-bridge. One shortcut: when the executable found IS this very multi-call
 * binary (same inode as /proc/self/exe, e.g. dist/cni/cnilab-host-local next to cnilab-bridge), exec'ing
 * it would start the same code in a new process (~9 ms of Bun start-up per call), so its handlers run
 * in-process instead, through the same skeleton entry point (`invoke`) with the same environment and
 * stdin, and its printed result is parsed the same way. Set CNILAB_IPAM_EXEC=1 to always exec.
 *
 * Loops: an `ipam.type` naming the bridge itself (or a chain that comes back to it) would recurse until the
 * machine runs out of file descriptors. The delegate's environment carries CNILAB_DELEGATED_BY (the
 * delegating plugins, outermost first), which passes through any plugin in between; a bridge that finds
 * itself in it, or whose `ipam.type` is this very binary's bridge, refuses with code 7 before doing anything.
 * @module
 */
import { process } from "../../sys/process.ts";
import { CniError, ErrorCode } from "../../cni/errors.ts";
import { execPlugin, findPlugin } from "../../cni/exec.ts";
import { invoke } from "../../cni/skeleton.ts";
import type { CniCommand, Result } from "../../cni/types.ts";
import { parseResult } from "../../cni/version.ts";
import type { PluginContext } from "../plugin.ts";
import { inProcessPlugin } from "../in-process.ts";
import { statPath } from "../../sys/fs.ts";

function sameFile(a: string, b: string): boolean {
  try {
    const x = statPath(a);
    const y = statPath(b);
    return !!x && !!y && x.ino === y.ino && x.dev === y.dev;
  } catch {
    return false;
  }
}

/** The plugin name the bridge delegates as (CNILAB_DELEGATED_BY). */
const SELF = "cnilab-bridge";

function loop(type: string, how: string): CniError {
  return new CniError(
    ErrorCode.InvalidNetworkConfig,
    `ipam.type ${JSON.stringify(type)} ${how}: a delegation loop`,
    `set ipam.type to an IPAM plugin such as "cnilab-host-local" or "host-local"`,
  );
}

/**
 * Refuses (code 7) an IPAM delegation that would loop: this bridge was itself reached as someone's IPAM
 * plugin (CNILAB_DELEGATED_BY names it), or `type` resolves to this very binary's bridge. Call it before
 * anything is changed. A `type` that is not found is left to {@link delegate} to report.
 */
export async function refuseIpamLoop(type: string, ctx: PluginContext): Promise<void> {
  if (ctx.delegatedBy.includes(SELF)) {
    throw loop(type, `reached ${SELF} again (delegated by ${ctx.delegatedBy.join(" → ")})`);
  }
  let exe: string;
  try {
    exe = findPlugin(type, ctx.path);
  } catch {
    return;
  }
  const load = inProcessPlugin(exe.split("/").pop() ?? "");
  if (!load || !sameFile(exe, "/proc/self/exe")) return;
  if ((await load()).plugin.name === SELF) throw loop(type, `is ${SELF} itself`);
}

/** Runs the IPAM plugin `type` for `command` with the bridge's own stdin and environment. */
export async function delegate(
  type: string,
  command: Exclude<CniCommand, "VERSION">,
  ctx: PluginContext,
): Promise<Result | undefined> {
  const exe = findPlugin(type, ctx.path);
  const load = inProcessPlugin(exe.split("/").pop() ?? "");
  const marker = { CNILAB_DELEGATED_BY: [...ctx.delegatedBy, SELF].join(",") };
  if (!load || process.env.CNILAB_IPAM_EXEC === "1" || !sameFile(exe, "/proc/self/exe")) {
    return await execPlugin(type, command, ctx.stdin, ctx.path, marker);
  }
  const { plugin } = await load();
  const out = await invoke(
    plugin,
    plugin.about,
    { ...process.env, ...marker, CNI_COMMAND: command },
    () => Promise.resolve(ctx.stdin),
  );
  if (out.code !== 0) {
    throw CniError.parse(out.stdout) ??
      new CniError(ErrorCode.Internal, `plugin ${type} ${command} failed`, out.stdout.slice(0, 300));
  }
  if (command !== "ADD") return undefined;
  return parseResult(JSON.parse(out.stdout), `the result of plugin ${type}`);
}
