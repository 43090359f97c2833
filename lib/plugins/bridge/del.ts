/**
 * DEL: the container's link, the address, the NAT rules; what is already gone is success.
 * @module
 */
import { Netlink } from "../../netlink/mod.ts";
import type { PluginContext } from "../plugin.ts";
import { type BridgeConf } from "./config.ts";
import { delegate } from "./delegate.ts";
import { enterNetns, ipMasq, isGlobalUnicast, isNoDevice, loadChecked, phase } from "./_common.ts";

/**
 * DEL: delete CNI_IFNAME in the container (its host peer goes with it), release the address, remove the NAT
 * rules. Everything already gone is success: an empty CNI_NETNS, a netns that no longer exists, a missing
 * link. The bridge is never deleted.
 *
 * When the sandbox is gone (the skeleton found CNI_NETNS empty, missing, or a stale path such as the plain
 * file or directory left after `ip netns del`), everything that lives OUTSIDE the namespace is still
 * released: the reservation, the NAT rules (found by chain name), and the host end of the veth pair if it
 * outlived the path (a process still holding the namespace keeps the pair alive) — found through
 * prevResult, and only a `veth<8 hex>` port of this bridge.
 */
export async function del(ctx: PluginContext): Promise<void> {
  phase("DEL: config parsed by the skeleton");
  const conf = await loadChecked(ctx);
  // the attachment's addresses, for its NAT rules: from the link we delete, else from prevResult
  let addresses = ctx.config.prevResult?.ips?.map((ip) => ip.address);
  if (ctx.sandbox === "present") {
    const ns = enterNetns(ctx.netns);
    try {
      const ctr = ns.run(() => Netlink.open({ label: ctx.netns.split("/").pop() }));
      try {
        const onLink = deleteContainerLink(ctr, ctx.ifname);
        if (onLink && onLink.length > 0) addresses = onLink;
      } finally {
        ctr.close();
      }
    } finally {
      ns.close();
    }
  } else {
    deleteOrphanedHostEnd(conf, ctx);
  }
  phase("DEL: container link deleted");
  if (conf.ipam) await delegate(conf.ipam.type, "DEL", ctx);
  phase("DEL: IPAM done");
  if (conf.ipam && conf.ipMasq) {
    await (await ipMasq()).teardownIpMasq(conf.network, ctx.containerId, addresses);
  }
}

/** The host end named in prevResult, when it is still a `veth<8 hex>` port of this bridge: deleted. */
function deleteOrphanedHostEnd(conf: BridgeConf, ctx: PluginContext): void {
  const candidates = (ctx.config.prevResult?.interfaces ?? []).filter((i) =>
    !i.sandbox && i.name !== conf.bridge && /^veth[0-9a-f]{8}$/.test(i.name)
  );
  if (candidates.length === 0) return;
  const host = Netlink.open();
  try {
    const br = host.link.get(conf.bridge);
    for (const i of candidates) {
      const port = host.link.get(i.name);
      if (!port || !br || port.master !== br.index) continue;
      try {
        host.link.del(port.index);
      } catch (e) {
        if (!isNoDevice(e)) {
          throw new Error(`failed to delete the host end ${i.name}: ${(e as Error).message}`);
        }
      }
    }
  } finally {
    host.close();
  }
}

/** Deletes the container's link (inside the namespace); returns its global addresses, undefined if absent. */
function deleteContainerLink(ctr: Netlink, ifname: string): string[] | undefined {
  try {
    const link = ctr.link.get(ifname);
    if (!link) return undefined;
    const addrs = ctr.addr.list({ index: link.index });
    ctr.link.del(link.index);
    return addrs.filter((a) => isGlobalUnicast(a.local)).map((a) => a.cidr);
  } catch (e) {
    if (isNoDevice(e)) return undefined; // removed by someone else meanwhile
    throw new Error(`failed to delete ${JSON.stringify(ifname)}: ${(e as Error).message}`);
  }
}
