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
import { Netlink } from "../../netlink/mod.ts";
import type { PluginDefinition } from "../plugin.ts";

/**
 * A netlink socket inside the container's namespace (opened there, so every request acts on its `lo`).
 * The skeleton has checked CNI_NETNS ({@link PluginDefinition.sandbox}): for ADD and CHECK it is a network
 * namespace other than the plugin's own; on DEL it may be gone (undefined).
 */
function sandbox(ctx: PluginContext): Netlink | undefined {
  return ctx.sandbox === "present" ? Netlink.open({ netns: ctx.netns }) : undefined;
}

/** The container's `lo` (every network namespace has it). */
function loopback(nl: Netlink) {
  const lo = nl.link.get("lo");
  if (!lo) throw new CniError(ErrorCode.Internal, "no loopback interface in the container");
  return lo;
}

// ---------------------------------------------------------------------------------------------------
// ADD

function add(ctx: PluginContext): Result {
  const nl = sandbox(ctx)!;
  try {
    const lo = loopback(nl);
    nl.link.set(lo.index, { up: true });
    const addresses = nl.addr.list({ index: lo.index });
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
  } finally {
    nl.close();
  }
}

// ---------------------------------------------------------------------------------------------------
// DEL

function del(ctx: PluginContext): void {
  // no namespace, or the namespace is already gone (a stale path too): nothing left to undo
  const nl = sandbox(ctx);
  if (!nl) return;
  try {
    nl.link.set(loopback(nl).index, { up: false });
  } finally {
    nl.close();
  }
}

// ---------------------------------------------------------------------------------------------------
// CHECK

function check(ctx: PluginContext): void {
  const nl = sandbox(ctx)!;
  try {
    if (!loopback(nl).up) {
      throw new CniError(ErrorCode.Internal, "loopback interface is down", `in ${ctx.netns}`);
    }
  } finally {
    nl.close();
  }
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
