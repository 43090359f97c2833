/**
 * ADD (see mod.ts for its steps): bridge and veth pair on the host side, addresses and routes on the
 * container side, ip_forward and NAT, undone on failure.
 * @module
 */
import { CniError, ErrorCode } from "../../cni/errors.ts";
import { contains, type Family, isV4Mapped, parseCidr } from "../../cni/ip.ts";
import type { Result, ResultIp, ResultRoute } from "../../cni/types.ts";
import { type AddressInfo, type LinkInfo, Netlink } from "../../netlink/mod.ts";
import type { PluginContext } from "../plugin.ts";
import { type BridgeConf } from "./config.ts";
import { delegate } from "./delegate.ts";
import { macAssignType, NET_ADDR_SET } from "./hostlink.ts";
import { type NetnsHandle, readSysctl, writeSysctl } from "./netns.ts";
import { hex, randomHex } from "../../util/mod.ts";
import {
  type BridgeGateway,
  closeSockets,
  defaultGateway,
  enterNetns,
  familyOf,
  ifnameExists,
  ipMasq,
  isExists,
  loadChecked,
  notABridge,
  openSockets,
  phase,
  sameIp,
  type Sockets,
} from "./_common.ts";

/** ADD: the steps listed in mod.ts, undone when one after IPAM fails. */
export async function add(ctx: PluginContext): Promise<Result> {
  phase("ADD: config parsed by the skeleton");
  const conf = await loadChecked(ctx);
  if (conf.hairpinMode && conf.promiscMode) {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      "cannot set hairpin mode and promiscuous mode at the same time.",
    );
  }
  const ns = enterNetns(ctx.netns);
  let sockets: Sockets | undefined;
  try {
    sockets = openSockets(ns);
    const { host, ctr } = sockets;
    if (ctr.link.get(ctx.ifname)) throw ifnameExists(ctx.ifname);
    const existing = host.link.get(conf.bridge);
    if (existing && existing.kind !== "bridge") throw notABridge(conf.bridge);

    phase("ADD: netns, ifname and bridge checked");
    const ipam = conf.ipam ? await delegate(conf.ipam.type, "ADD", ctx) : undefined;
    const veth = { name: randomVethName(), created: false };
    let masq: string[] | undefined; // the addresses whose NAT rules are (being) installed
    try {
      phase("ADD: IPAM done");
      const plan = planAddresses(conf, ipam);
      veth.created = true; // from here on a failure may have left the pair behind: undo removes it
      const bridgeMac = setupHostSide(conf, ctx, sockets, ns, veth, plan.gateways, existing);
      phase("ADD: host side done");
      const containerMac = setupContainerSide(conf, ctr, ns, ctx.ifname, plan.ips, plan.routes);
      phase("ADD: container side done");
      if (conf.isGateway) enableForwarding(plan.gateways);
      if (conf.ipMasq && plan.ips.length > 0) {
        masq = plan.ips.map((ip) => ip.address);
        await (await ipMasq()).setupIpMasq(masq, conf.network, ctx.containerId);
      }
      const port = await waitForPortUp(host, veth.name);
      phase("ADD: host port up");
      return {
        cniVersion: ctx.version,
        interfaces: [
          { name: conf.bridge, mac: host.link.get(conf.bridge)?.mac ?? bridgeMac },
          { name: veth.name, mac: port.mac ?? "" },
          { name: ctx.ifname, mac: containerMac, sandbox: ctx.netns },
        ],
        ...(plan.ips.length > 0 ? { ips: plan.ips } : {}),
        ...(plan.routes.length > 0 ? { routes: plan.routes } : {}),
        dns: conf.dns ?? ipam?.dns ?? {},
      };
    } catch (error) {
      await undoAdd(conf, ctx, host, veth, masq, ipam !== undefined);
      throw error;
    }
  } finally {
    if (sockets) closeSockets(sockets);
    ns.close();
  }
}

/** The host end's name: `veth` + 8 random hex digits (the reference's RandomVethName). */
function randomVethName(): string {
  return "veth" + randomHex(4);
}

/** A random locally administered unicast MAC (what the kernel picks for a new bridge). */
function randomMac(): string {
  const b = crypto.getRandomValues(new Uint8Array(6));
  b[0] = (b[0] & 0xfe) | 0x02;
  return hex(b, ":");
}

/**
 * The reference's calcGateways: every address belongs to the container interface (index 2); without an
 * IPAM gateway and with isGateway the gateway is the subnet's first address; isDefaultGateway adds a
 * default route per family unless IPAM already gave one with a gateway.
 */
function planAddresses(conf: BridgeConf, ipam: Result | undefined) {
  const ips: ResultIp[] = [];
  const routes: ResultRoute[] = [...(ipam?.routes ?? [])];
  const gateways: BridgeGateway[] = [];
  if (!ipam) return { ips, routes, gateways };
  if (!ipam.ips || ipam.ips.length === 0) throw new Error("IPAM plugin returned missing IP config");
  refuseMapped(ipam);
  const defaultFound = { 4: false, 6: false };
  for (const ip of ipam.ips) {
    const net = parseCidr(ip.address);
    if (!net) {
      throw new Error(`IPAM plugin returned an address that is not a CIDR: ${JSON.stringify(ip.address)}`);
    }
    const out: ResultIp = { address: ip.address, interface: 2 };
    const gateway = ip.gateway ?? (conf.isGateway ? defaultGateway(net) : undefined);
    if (gateway) out.gateway = gateway;
    ips.push(out);
    if (conf.isDefaultGateway) {
      const dst = net.ip.family === 4 ? "0.0.0.0/0" : "::/0";
      if (!defaultFound[net.ip.family]) {
        defaultFound[net.ip.family] = routes.some((r) =>
          r.gw !== undefined && isDefaultDst(r.dst, net.ip.family)
        );
      }
      if (!defaultFound[net.ip.family]) {
        routes.push(gateway ? { dst, gw: gateway } : { dst });
        defaultFound[net.ip.family] = true;
      }
    }
    if (conf.isGateway && gateway) gateways.push({ family: net.ip.family, cidr: `${gateway}/${net.prefix}` });
  }
  // A bridge holds ONE IPv4 gateway (the reference's ensureAddr refuses a second IPv4 address on it): with two
  // IPv4 range sets the first ADD would put both on a new bridge and every later ADD fail. Refused at once.
  const v4 = new Set(gateways.filter((g) => g.family === 4).map((g) => g.cidr));
  if (v4.size > 1) {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      `isGateway with more than one IPv4 address per container (${[...v4].join(", ")}) is not supported`,
      "a bridge takes one IPv4 gateway: use one IPv4 range set (several ranges in it are fine) or another bridge",
    );
  }
  return { ips, routes, gateways };
}

/**
 * IPv4-mapped IPv6 addresses (`::ffff:10.253.1.5/120`) in an IPAM result are refused (code 7): Go reads
 * them as IPv4 with a 16-byte mask, the kernel as IPv6, and an IPv6 gateway on the bridge would turn on
 * IPv6 forwarding for what was meant as an IPv4 network. (parseResult already checked the syntax.)
 */
function refuseMapped(ipam: Result): void {
  const texts = [
    ...(ipam.ips ?? []).flatMap((ip) => [["address", ip.address], ["gateway", ip.gateway ?? ""]]),
    ...(ipam.routes ?? []).flatMap((r) => [["route", r.dst], ["route gateway", r.gw ?? ""]]),
  ];
  for (const [what, text] of texts) {
    if (isV4Mapped(text)) {
      throw new CniError(
        ErrorCode.InvalidNetworkConfig,
        `IPAM returned an IPv4-mapped IPv6 ${what} ${JSON.stringify(text)}`,
        "use an IPv4 subnet (10.0.0.0/24) or a real IPv6 one (fd00::/64) in the IPAM config",
      );
    }
  }
}

function isDefaultDst(dst: string, family: Family): boolean {
  const net = parseCidr(dst);
  return !!net && net.ip.family === family && net.prefix === 0;
}

/**
 * The host side, one netlink request per step. Returns the bridge's MAC. A concurrent ADD may create the
 * bridge between our look and our RTM_NEWLINK: then the kernel says EEXIST, we look again (it must be a
 * bridge) and go on with the existing bridge.
 */
function setupHostSide(
  conf: BridgeConf,
  ctx: PluginContext,
  { host, ctr }: Sockets,
  ns: NetnsHandle,
  veth: { name: string },
  gateways: BridgeGateway[],
  seen: LinkInfo | undefined,
): string {
  let created = false;
  let br: LinkInfo | undefined;
  for (let attempt = 0; !br; attempt++) {
    // the bridge as ADD saw it a moment ago; after a lost creation race, as it is now
    const existing = attempt === 0 && seen ? seen : host.link.get(conf.bridge);
    if (existing && existing.kind !== "bridge") throw notABridge(conf.bridge);
    if (existing) {
      br = existing;
      break;
    }
    try {
      // isGateway pins the bridge's MAC (the reference sets it to itself) so ports coming and going don't change it
      host.link.add({
        kind: "bridge",
        name: conf.bridge,
        ...(conf.mtu ? { mtu: conf.mtu } : {}),
        ...(conf.isGateway && gateways.length > 0 ? { mac: randomMac() } : {}),
      });
      created = true;
    } catch (e) {
      if (!(isExists(e) && attempt < 3)) throw hostFailure(conf, veth, e); // else lost the race: look again
    }
  }
  try {
    if (conf.promiscMode && !br.promisc) host.link.set(br.index, { promisc: true });
    if (!br.up) host.link.set(br.index, { up: true });
  } catch (e) {
    throw hostFailure(conf, veth, e);
  }
  for (let attempt = 0;; attempt++) {
    try {
      // the reference's veths have no transmit queue length (qlen 0 on both ends): so do these
      host.link.add({
        kind: "veth",
        name: veth.name,
        txqlen: 0,
        ...(conf.mtu ? { mtu: conf.mtu } : {}),
        up: true,
        master: br.index,
        peer: {
          name: ctx.ifname,
          txqlen: 0,
          ...(conf.mtu ? { mtu: conf.mtu } : {}),
          ...(conf.mac ? { mac: conf.mac } : {}),
          netnsFd: ns.fd,
        },
      });
      break;
    } catch (e) {
      if (isExists(e)) {
        if (ctr.link.get(ctx.ifname)) throw ifnameExists(ctx.ifname);
        if (attempt < 10) {
          veth.name = randomVethName(); // the host name was taken: like the reference, pick another
          continue;
        }
      }
      throw hostFailure(conf, veth, e);
    }
  }
  try {
    const port = host.link.get(veth.name);
    if (!port) throw new Error(`the host end ${veth.name} disappeared`);
    if (conf.hairpinMode) host.link.hairpin(port.index, true);
    if (created) {
      for (const gw of gateways) host.addr.replace(gatewayAddress(gw, br.index));
    }
  } catch (e) {
    throw hostFailure(conf, veth, e);
  }
  // "we want to own the routes for this interface" (the reference): no router advertisements
  writeSysctl(`net/ipv6/conf/${conf.bridge}/accept_ra`, "0");
  writeSysctl(`net/ipv6/conf/${veth.name}/accept_ra`, "0");
  if (!created && gateways.length > 0) {
    // a bridge made by someone else gets its MAC pinned (to the one it had before our port joined)
    const pin = macAssignType(conf.bridge) !== NET_ADDR_SET ? br.mac : undefined;
    ensureGatewayAddresses(host, conf, br, gateways, host.addr.list({ index: br.index }), pin);
  }
  return br.mac ?? "";
}

function hostFailure(conf: BridgeConf, veth: { name: string }, e: unknown): Error {
  if (e instanceof CniError) return e;
  return new Error(`failed to set up ${conf.bridge} and ${veth.name}: ${(e as Error).message}`);
}

function gatewayAddress(gw: BridgeGateway, index: number) {
  // `replace`, not `add`: two ADDs racing to a new bridge both set the same gateway without EEXIST
  return { index, cidr: gw.cidr, broadcast: gw.family === 4 };
}

/**
 * The reference's ensureAddr on an existing bridge: the gateway already there is fine; any other IPv4
 * address (or an overlapping IPv6 one) is an error unless forceAddress, which replaces it.
 */
function ensureGatewayAddresses(
  host: Netlink,
  conf: BridgeConf,
  br: LinkInfo,
  gateways: BridgeGateway[],
  present: AddressInfo[],
  pinMac: string | undefined,
): void {
  const changes: (() => void)[] = [];
  for (const gw of gateways) {
    const want = parseCidr(gw.cidr)!;
    const wantIp = gw.cidr.split("/")[0];
    const mine = present.filter((a) => a.family === gw.family);
    let ok = false;
    for (const a of mine) {
      if (sameIp(a.local, wantIp) && a.prefixLength === want.prefix) {
        ok = true;
        break;
      }
      const have = parseCidr(a.cidr)!;
      const overlaps = contains(have, want.ip) || contains(want, have.ip);
      if (gw.family === 4 || overlaps) {
        if (!conf.forceAddress) {
          throw new CniError(
            ErrorCode.Internal,
            `failed to set bridge addr: ${
              JSON.stringify(conf.bridge)
            } already has an IP address different from ${gw.cidr}`,
            `remove ${a.cidr} from ${conf.bridge}, use another bridge, or set "forceAddress": true`,
          );
        }
        changes.push(() => host.addr.del({ index: br.index, cidr: a.cidr }));
      }
    }
    if (!ok) changes.push(() => host.addr.replace(gatewayAddress(gw, br.index)));
  }
  // like the reference's ensureAddr: the MAC is set to itself once the address is in place
  if (pinMac && changes.length > 0) changes.push(() => host.link.set(br.index, { mac: pinMac }));
  try {
    for (const change of changes) change();
  } catch (e) {
    throw new Error(`failed to set bridge addr on ${conf.bridge}: ${(e as Error).message}`);
  }
}

/**
 * The container side: sysctls with the thread inside the namespace, then over the container's socket the
 * reference's ConfigureIface: link up, addresses, routes with the family's gateway as default next hop.
 * Returns the container interface's MAC.
 */
function setupContainerSide(
  conf: BridgeConf,
  ctr: Netlink,
  ns: NetnsHandle,
  ifname: string,
  ips: ResultIp[],
  routes: ResultRoute[],
): string {
  if (conf.ipam) {
    ns.run(() => {
      writeSysctl(`net/ipv6/conf/${ifname}/accept_dad`, "0");
      writeSysctl(`net/ipv4/conf/${ifname}/arp_notify`, "1");
      if (ips.some((ip) => familyOf(ip.address) === 6)) {
        for (const dev of ["lo", ifname]) {
          if (readSysctl(`net/ipv6/conf/${dev}/disable_ipv6`) === "1") {
            writeSysctl(`net/ipv6/conf/${dev}/disable_ipv6`, "0");
          }
        }
      }
    });
  }
  try {
    const link = ctr.link.get(ifname);
    if (!link) throw new Error(`${ifname} is not in the container`);
    ctr.link.set(link.index, { up: true });
    const gwOf: Record<Family, string | undefined> = { 4: undefined, 6: undefined };
    for (const ip of ips) {
      const family = familyOf(ip.address);
      ctr.addr.add({ index: link.index, cidr: ip.address, broadcast: family === 4 });
      if (ip.gateway && gwOf[family] === undefined) gwOf[family] = ip.gateway;
    }
    for (const r of routes) {
      const gw = r.gw ?? gwOf[familyOf(r.dst)];
      ctr.route.append({
        dst: r.dst,
        index: link.index,
        ...(gw ? { gateway: gw } : {}),
        ...(r.priority !== undefined ? { metric: r.priority } : {}),
        ...(r.table !== undefined ? { table: r.table } : {}),
        ...(r.scope !== undefined ? { scope: r.scope } : {}),
        ...(r.mtu !== undefined ? { mtu: r.mtu } : {}),
        ...(r.advmss !== undefined ? { advmss: r.advmss } : {}),
      });
    }
    return link.mac ?? "";
  } catch (e) {
    throw new Error(`failed to configure ${ifname} in the container: ${(e as Error).message}`);
  }
}

/** ip_forward=1 for each family that has a gateway on the bridge (not restored on DEL, like the reference). */
function enableForwarding(gateways: BridgeGateway[]): void {
  const set = (key: string) => {
    if (readSysctl(key) !== "1" && !writeSysctl(key, "1")) {
      throw new Error(`failed to enable forwarding: ${key}`);
    }
  };
  if (gateways.some((g) => g.family === 4)) set("net/ipv4/ip_forward");
  if (gateways.some((g) => g.family === 6)) set("net/ipv6/conf/all/forwarding");
}

/**
 * Waits for the host port to be operationally up, as the reference does. The kernel reports it through
 * linkwatch a moment after both ends are up; the reference looks after 0, 50, 500, 1000, 1000 ms, cnilab
 * looks more often early (most ports are up within a few ms) and gives up after the same ~2.5 s.
 */
async function waitForPortUp(host: Netlink, name: string): Promise<LinkInfo> {
  for (const sleep of [0, 1, 1, 2, 2, 4, 8, 16, 32, 64, 128, 256, 500, 1000]) {
    if (sleep) await new Promise((resolve) => setTimeout(resolve, sleep));
    const port = host.link.get(name);
    if (!port) throw new Error(`the host end ${name} disappeared`);
    if (port.operstate === "up") return port;
  }
  throw new Error(`bridge port in error state: ${host.link.get(name)?.operstate ?? "gone"}`);
}

/** Undoes a failed ADD: NAT rules, the veth pair (its peer goes with it), the IPAM reservation. */
async function undoAdd(
  conf: BridgeConf,
  ctx: PluginContext,
  host: Netlink,
  veth: { name: string; created: boolean },
  masq: string[] | undefined,
  ipam: boolean,
): Promise<void> {
  const report = (what: string, e: unknown) =>
    console.error(`cnilab-bridge: while undoing a failed ADD, ${what}: ${(e as Error).message ?? e}`);
  if (masq) {
    await (await ipMasq()).teardownIpMasq(conf.network, ctx.containerId, masq)
      .catch((e) => report("removing NAT rules", e));
  }
  const port = veth.created ? host.link.get(veth.name) : undefined;
  if (port) {
    try {
      host.link.del(port.index);
    } catch (e) {
      report(`deleting ${veth.name}`, e);
    }
  }
  if (ipam && conf.ipam) {
    await delegate(conf.ipam.type, "DEL", ctx).catch((e) => report("releasing the address", e));
  }
}
