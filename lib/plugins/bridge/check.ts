/**
 * CHECK: the attachment is still what ADD made it.
 * @module
 */
import { CniError, ErrorCode } from "../../cni/errors.ts";
import { parseCidr } from "../../cni/ip.ts";
import type { PluginContext } from "../plugin.ts";
import { delegate } from "./delegate.ts";
import {
  closeSockets,
  enterNetns,
  familyOf,
  loadChecked,
  openSockets,
  sameIp,
  type Sockets,
} from "./_common.ts";

/**
 * CHECK: the IPAM plugin checks its side first; then prevResult must describe what is there: the bridge
 * (a bridge, same MAC, promiscuity as configured), the container interface (a veth, same MAC, in that
 * sandbox), the host veth (the container interface's peer, a port of the bridge), the addresses on the
 * container interface and the routes in the container.
 */
export async function check(ctx: PluginContext): Promise<void> {
  const conf = await loadChecked(ctx);
  const ns = enterNetns(ctx.netns);
  let sockets: Sockets | undefined;
  try {
    sockets = openSockets(ns);
    const { host, ctr } = sockets;
    if (conf.ipam) await delegate(conf.ipam.type, "CHECK", ctx);
    const prev = ctx.config.prevResult;
    if (!prev) throw new CniError(ErrorCode.InvalidNetworkConfig, "Required prevResult missing");
    const interfaces = prev.interfaces ?? [];
    const brIf = interfaces.find((i) => i.name === conf.bridge);
    const contIf = interfaces.find((i) => i.name === ctx.ifname && i.sandbox === ctx.netns);

    // the bridge
    if (!brIf) fail(`CNI created bridge ${conf.bridge} in host namespace was not found`);
    if (brIf.sandbox) fail(`Interface ${brIf.name} should not be in sandbox`);
    const br = host.link.get(conf.bridge);
    if (!br) fail(`Interface name ${conf.bridge} not found`);
    if (br.kind !== "bridge") fail(`Interface ${conf.bridge} does not have link type of bridge`);
    if (brIf.mac && brIf.mac !== br.mac) {
      fail(`Bridge interface ${conf.bridge} Mac doesn't match: ${brIf.mac}`);
    }
    if (br.promisc !== conf.promiscMode) {
      fail(
        `Bridge interface ${conf.bridge} configured Promisc Mode ${conf.promiscMode} doesn't match current state: ${br.promisc}`,
      );
    }
    // the container interface, its addresses and routes
    if (!contIf) fail(`Sandbox in prevResult doesn't match configured netns: ${ctx.netns}`);
    const cont = ctr.link.get(ctx.ifname) ?? fail(`Interface name ${ctx.ifname} not found`);
    const inside = {
      addrs: ctr.addr.list({ index: cont.index }),
      routes: [...ctr.route.list(4), ...ctr.route.list(6)],
    };
    if (cont.kind !== "veth") fail(`Error: Container interface ${ctx.ifname} not of type veth`);
    if (contIf.mac && contIf.mac !== cont.mac) {
      fail(`Interface ${ctx.ifname} Mac ${contIf.mac} doesn't match container Mac: ${cont.mac}`);
    }
    // the host veth: the container interface's peer, enslaved to the bridge
    const hostVeth = interfaces
      .filter((i) => i !== brIf && i !== contIf)
      .flatMap((i) => {
        const l = host.link.get(i.name);
        return l ? [{ i, l }] : [];
      })
      .find(({ l }) => l.index === cont.link && l.link === cont.index && l.master === br.index);
    if (!hostVeth) fail(`CNI veth created for bridge ${conf.bridge} was not found`);
    if (hostVeth.i.mac && hostVeth.i.mac !== hostVeth.l.mac) {
      fail(`Interface ${hostVeth.i.name} Mac doesn't match: ${hostVeth.i.mac} not found`);
    }
    for (const ip of prev.ips ?? []) {
      const idx = ip.interface;
      if (idx !== undefined && interfaces[idx]?.name !== ctx.ifname) continue;
      const found = inside.addrs.some((a) =>
        sameIp(a.local, ip.address.split("/")[0]) && `/${a.prefixLength}` === `/${ip.address.split("/")[1]}`
      );
      if (!found) fail(`ip ${ip.address} not found on ${ctx.ifname}`);
    }
    for (const r of prev.routes ?? []) {
      const want = parseCidr(r.dst);
      const found = inside.routes.some((have) => {
        const dst = have.dst === "default" ? (familyOf(r.dst) === 4 ? "0.0.0.0/0" : "::/0") : have.dst;
        const h = parseCidr(dst.includes("/") ? dst : `${dst}/${familyOf(dst) === 4 ? 32 : 128}`);
        const sameDst = !!want && !!h && h.prefix === want.prefix &&
          sameIp(dst.split("/")[0], r.dst.split("/")[0]);
        return sameDst && (!r.gw || (!!have.gateway && sameIp(have.gateway, r.gw)));
      });
      if (!found) {
        fail(`route (${r.dst}${r.gw ? ` via ${r.gw}` : ""}) not found in ${ctx.ifname}'s namespace`);
      }
    }
  } finally {
    if (sockets) closeSockets(sockets);
    ns.close();
  }
}

/** A CHECK that found something different from prevResult (999, as the reference). */
function fail(msg: string): never {
  throw new CniError(ErrorCode.Internal, msg);
}
