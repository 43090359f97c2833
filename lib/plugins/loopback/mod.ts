/**
 * cnilab-loopback: brings up `lo` inside the container's network namespace, a drop-in for the reference
 * loopback plugin. Like the reference it ignores CNI_IFNAME (the interface is always `lo`).
 *
 * Reads top to bottom as ADD, DEL, CHECK.
 * @module
 */
import { CniError, ErrorCode } from "../../cni/errors.ts";
import type { PluginContext } from "../../cni/skeleton.ts";
import type { Result } from "../../cni/types.ts";
import { addr, link, type Where } from "../../iproute2/mod.ts";
import type { PluginDefinition } from "../plugin.ts";

/**
 * Where `lo` lives. The skeleton has checked CNI_NETNS ({@link PluginDefinition.sandbox}): for ADD and
 * CHECK it is a network namespace other than the plugin's own; on DEL it may be gone (undefined).
 */
function sandbox(ctx: PluginContext): Where | undefined {
  return ctx.sandbox === "present" ? { netnsPath: ctx.netns } : undefined;
}

// ---------------------------------------------------------------------------------------------------
// ADD

async function add(ctx: PluginContext): Promise<Result> {
  const where = sandbox(ctx)!;
  await link.up("lo", where);
  const addresses = await addr.list({ ...where, dev: "lo" });
  for (const a of addresses) {
    if (!(a.family === 4 ? a.local.startsWith("127.") : a.local === "::1")) {
      throw new CniError(
        ErrorCode.Internal,
        `loopback interface found with non-loopback address "${a.local}"`,
      );
    }
  }
  // a plugin before us in the chain made the result: pass it on untouched
  if (ctx.config.prevResult) return ctx.config.prevResult;
  const v4 = addresses.find((a) => a.family === 4);
  const v6 = addresses.find((a) => a.family === 6);
  return {
    cniVersion: ctx.version,
    interfaces: [{ name: "lo", mac: "00:00:00:00:00:00", sandbox: ctx.netns }],
    ips: [v4, v6].filter((a) => a !== undefined).map((a) => ({ interface: 0, address: a.cidr })),
  };
}

// ---------------------------------------------------------------------------------------------------
// DEL

async function del(ctx: PluginContext): Promise<void> {
  // no namespace, or the namespace is already gone (a stale path too): nothing left to undo
  const where = sandbox(ctx);
  if (!where) return;
  await link.down("lo", where);
}

// ---------------------------------------------------------------------------------------------------
// CHECK

async function check(ctx: PluginContext): Promise<void> {
  const lo = await link.get("lo", sandbox(ctx)!);
  if (!lo?.up) throw new CniError(ErrorCode.Internal, "loopback interface is down", `in ${ctx.netns}`);
}

/** cnilab-loopback. */
export const plugin: PluginDefinition = {
  name: "cnilab-loopback",
  about: "cnilab loopback plugin (TypeScript, drop-in for the reference loopback)",
  sandbox: true,
  add,
  del,
  check,
};
