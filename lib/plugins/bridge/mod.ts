/**
 * cnilab-bridge: the chapter's "CNI ADD: create veth, bridge, IP → return IPs, routes", with the reference
 * bridge's configuration and behaviour (containernetworking/plugins plugins/main/bridge). Reads top to
 * bottom as ADD, DEL, CHECK (then STATUS and GC).
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
import process from "node:process";
import { CniError, ErrorCode } from "../../cni/errors.ts";
import {
  type Cidr,
  contains,
  type Family,
  formatIp,
  ipEquals,
  isV4Mapped,
  networkOf,
  offset,
  parseCidr,
  parseIp,
} from "../../cni/ip.ts";
import type { Result, ResultIp, ResultRoute } from "../../cni/types.ts";
import { type AddressInfo, Errno, type LinkInfo, Netlink, NetlinkError } from "../../netlink/mod.ts";
import type { PluginContext, PluginDefinition } from "../plugin.ts";
import { type BridgeConf, loadConf } from "./config.ts";
import { delegate, refuseIpamLoop } from "./delegate.ts";
import { macAssignType, NET_ADDR_SET } from "./hostlink.ts";
import { NetnsError, type NetnsHandle, openNetns, readSysctl, writeSysctl } from "./netns.ts";
import { hex, randomHex } from "../../util/mod.ts";

/** The NAT rules' module: iptables processes, loaded only when a config has ipMasq (or for GC). */
const ipMasq = () => import("./ipmasq.ts");

/** The kernel said "File exists". */
function isExists(e: unknown): boolean {
  return e instanceof NetlinkError && e.errno === Errno.EEXIST;
}

/** The kernel said "No such device". */
function isNoDevice(e: unknown): boolean {
  return e instanceof NetlinkError && e.errno === Errno.ENODEV;
}

/** The sockets of one CNI call: one in the host namespace, one opened inside the container's. */
interface Sockets {
  host: Netlink;
  ctr: Netlink;
}

function openSockets(ns: NetnsHandle): Sockets {
  const host = Netlink.open();
  try {
    // opened with the thread inside: the socket stays bound to the container's namespace
    return { host, ctr: ns.run(() => Netlink.open({ label: ns.path.split("/").pop() })) };
  } catch (e) {
    host.close();
    throw e;
  }
}

function closeSockets(s: Sockets): void {
  s.host.close();
  s.ctr.close();
}

/**
 * CNILAB_PLUGIN_TRACE=1: print each phase of ADD/DEL with the time since the process started (Bun's
 * performance.now() counts from process start, so the first line also shows the runtime's start-up).
 */
const TRACE = process.env.CNILAB_PLUGIN_TRACE === "1";
function phase(label: string): void {
  if (TRACE) console.error(`cnilab-bridge: ${performance.now().toFixed(2).padStart(7)} ms  ${label}`);
}

// ---------------------------------------------------------------------------------------------------
// Address helpers (on lib/cni/ip.ts)

/** The family of an address or CIDR in text. */
function familyOf(text: string): Family {
  return text.includes(":") ? 6 : 4;
}

/** Two addresses in text are the same address. */
function sameIp(a: string, b: string): boolean {
  return ipEquals(parseIp(a), parseIp(b));
}

/** The gateway the reference bridge picks when IPAM gives none: the subnet's first address (network + 1). */
function defaultGateway(net: Cidr): string {
  return formatIp(offset(networkOf(net), 1));
}

/** What Go's IsGlobalUnicast keeps: not unspecified, loopback, link-local, multicast or broadcast. */
function isGlobalUnicast(text: string): boolean {
  const ip = parseIp(text);
  if (!ip) return false;
  if (ip.family === 4) {
    const a = Number(ip.value >> 24n);
    const b = Number((ip.value >> 16n) & 0xffn);
    return !(a === 0 || a === 127 || a >= 224 || (a === 169 && b === 254));
  }
  const top = Number(ip.value >> 112n);
  return !(ip.value === 0n || ip.value === 1n || (top & 0xff00) === 0xff00 || (top & 0xffc0) === 0xfe80);
}

// ---------------------------------------------------------------------------------------------------
// ADD

/** A gateway address to put on the bridge: the gateway with the prefix length of the pod's address. */
interface BridgeGateway {
  family: Family;
  cidr: string;
}

/** The bridge's config, with a looping `ipam.type` refused (code 7) before anything is done. */
async function loadChecked(ctx: PluginContext): Promise<BridgeConf> {
  const conf = loadConf(ctx);
  if (conf.ipam || ctx.delegatedBy.length > 0) await refuseIpamLoop(conf.ipam?.type ?? "", ctx);
  return conf;
}

async function add(ctx: PluginContext): Promise<Result> {
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

function enterNetns(path: string): NetnsHandle {
  try {
    return openNetns(path);
  } catch (e) {
    if (e instanceof NetnsError) {
      throw new CniError(ErrorCode.InvalidEnvironment, e.message, "CNI_NETNS must name a network namespace");
    }
    throw e;
  }
}

function ifnameExists(ifname: string): CniError {
  return new CniError(
    ErrorCode.Internal,
    `container veth name provided (${ifname}) already exists`,
    "the container already has an interface of that name: DEL the attachment first or choose another CNI_IFNAME",
  );
}

function notABridge(name: string): CniError {
  return new CniError(
    ErrorCode.Internal,
    `failed to create bridge ${JSON.stringify(name)}: ${
      JSON.stringify(name)
    } already exists but is not a bridge`,
    `another link on the host is called ${name}; set "bridge" to a free name (cnilab never enslaves or changes it)`,
  );
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

// ---------------------------------------------------------------------------------------------------
// DEL

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
async function del(ctx: PluginContext): Promise<void> {
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

// ---------------------------------------------------------------------------------------------------
// CHECK

/**
 * CHECK: the IPAM plugin checks its side first; then prevResult must describe what is there: the bridge
 * (a bridge, same MAC, promiscuity as configured), the container interface (a veth, same MAC, in that
 * sandbox), the host veth (the container interface's peer, a port of the bridge), the addresses on the
 * container interface and the routes in the container.
 */
async function check(ctx: PluginContext): Promise<void> {
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
