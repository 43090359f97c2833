/**
 * cnilab-bridge: the chapter's "CNI ADD: create veth, bridge, IP → return IPs, routes", with the reference
 * bridge's configuration and behaviour (containernetworking/plugins plugins/main/bridge). One file per
 * verb: add.ts, del.ts, check.ts (what they share in _common.ts); STATUS, GC and the plugin here.
 *
 * ADD, in the order it touches the system (every step before the first change can fail for free):
 *   1. parse the config; open CNI_NETNS and check the container has no CNI_IFNAME yet; check that a link
 *      named like the bridge, if any, IS a bridge (never enslave or change anything else);
 *   2. IPAM ADD: `ipam.type` found along CNI_PATH, exec'd like the reference does (in-process when it is
 *      this very multi-call binary: see delegate.ts);
 *   3. host side, rtnetlink requests from this process (lib/netlink, like the reference's
 *      vishvananda/netlink): bridge (created if absent, up), veth pair created from the host with the peer
 *      made directly inside the container (IFLA_NET_NS_FD), host end `veth<8 hex>` enslaved and up, both
 *      ends without a transmit queue length (as the reference's veths), hairpin, gateway address;
 *   4. container side, over a netlink socket opened inside the namespace: link up, addresses, routes;
 *      sysctls accept_dad=0, arp_notify=1 written with the thread switched in (setns);
 *   5. ip_forward=1 (isGateway), NAT rules (ipMasq), wait for the host port to come up, result.
 * Anything failing after step 2 is undone: veth removed (its peer goes with it), rules removed, IPAM DEL.
 * No process is started on this path unless ipMasq (iptables, as the reference) or an exec'd IPAM plugin.
 * CNILAB_NETLINK_TRACE=FILE writes down every request and the kernel's answer (lib/netlink/trace.ts).
 * @module
 */
import { CniError, ErrorCode } from "../../cni/errors.ts";
import type { PluginContext, PluginDefinition } from "../plugin.ts";
import { add } from "./add.ts";
import { check } from "./check.ts";
import { ipMasq, loadChecked } from "./_common.ts";
import { del } from "./del.ts";
import { delegate } from "./delegate.ts";

// ---------------------------------------------------------------------------------------------------
// STATUS and GC

/** STATUS: the bridge is ready when its IPAM plugin is. */
async function status(ctx: PluginContext): Promise<void> {
  const conf = await loadChecked(ctx);
  if (conf.ipam) await delegate(conf.ipam.type, "STATUS", ctx);
}

/** GC: the IPAM plugin collects its reservations; the bridge removes NAT rules of containers not kept. */
async function gc(ctx: PluginContext): Promise<void> {
  const conf = await loadChecked(ctx);
  const errors: string[] = [];
  if (conf.ipam) {
    await delegate(conf.ipam.type, "GC", ctx).catch((e) => errors.push((e as Error).message));
  }
  await (await ipMasq()).gcIpMasq(conf.network, new Set(ctx.validAttachments.map((a) => a.containerID)))
    .catch((e) => errors.push((e as Error).message));
  if (errors.length > 0) throw new CniError(ErrorCode.Internal, errors.join("; "));
}

/** The bridge plugin, run by the multi-call executable as `cnilab-bridge`. */
export const plugin: PluginDefinition = {
  name: "cnilab-bridge",
  about: "cnilab bridge plugin: a Linux bridge, a veth pair per container, IPAM by delegation",
  cniArgs: ["MAC"],
  sandbox: true,
  add,
  del,
  check,
  status,
  gc,
};
