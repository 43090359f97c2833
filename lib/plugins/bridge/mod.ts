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
 *   3. host side, ONE `ip -batch`: bridge (created if absent, up), veth pair created from the host with
 *      the peer made directly inside the container (`peer name IF netns PATH`), host end `veth<8 hex>`
 *      enslaved and up, hairpin, gateway address on the bridge;
 *   4. container side, ONE `ip -batch` spawned from inside the namespace (setns): addresses, link up,
 *      routes; sysctls accept_dad=0, arp_notify=1 written in-process;
 *   5. ip_forward=1 (isGateway), NAT rules (ipMasq), wait for the host port to come up, result.
 * Anything failing after step 2 is undone: veth removed (its peer goes with it), rules removed, IPAM DEL.
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
import * as iproute2 from "../../iproute2/mod.ts";
import {
  type Address,
  batchReport,
  isExists,
  isNoDevice,
  parseAddresses,
  parseLinks,
} from "../../iproute2/mod.ts";
import type { PluginContext, PluginDefinition } from "../plugin.ts";
import { type BridgeConf, loadConf } from "./config.ts";
import { delegate, refuseIpamLoop } from "./delegate.ts";
import { hostLink, NET_ADDR_SET } from "./hostlink.ts";
import { gcIpMasq, setupIpMasq, teardownIpMasq } from "./ipmasq.ts";
import { linkExistsHere, NetnsError, type NetnsHandle, openNetns, readSysctl, writeSysctl } from "./netns.ts";

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
  const ns = await enterNetns(ctx.netns);
  try {
    if (await ns.run(() => linkExistsHere(ctx.ifname))) throw ifnameExists(ctx.ifname);
    const existing = hostLink(conf.bridge);
    if (existing && !existing.isBridge) throw notABridge(conf.bridge);

    phase("ADD: netns, ifname and bridge checked");
    const ipam = conf.ipam ? await delegate(conf.ipam.type, "ADD", ctx) : undefined;
    const veth = { name: randomVethName(), created: false };
    let masq: string[] | undefined; // the addresses whose NAT rules are (being) installed
    try {
      phase("ADD: IPAM done");
      const plan = planAddresses(conf, ipam);
      veth.created = true; // from here on a failure may have left the pair behind: undo removes it
      const bridgeMac = await setupHostSide(conf, ctx, veth, plan.gateways);
      phase("ADD: host side done");
      const containerMac = await ns.run(() => setupContainerSide(conf, ctx.ifname, plan.ips, plan.routes));
      phase("ADD: container side done");
      if (conf.isGateway) enableForwarding(plan.gateways);
      if (conf.ipMasq && plan.ips.length > 0) {
        masq = plan.ips.map((ip) => ip.address);
        await setupIpMasq(masq, conf.network, ctx.containerId);
      }
      const port = await waitForPortUp(veth.name);
      phase("ADD: host port up");
      return {
        cniVersion: ctx.version,
        interfaces: [
          { name: conf.bridge, mac: hostLink(conf.bridge)?.mac ?? bridgeMac },
          { name: veth.name, mac: port.mac },
          { name: ctx.ifname, mac: containerMac, sandbox: ctx.netns },
        ],
        ...(plan.ips.length > 0 ? { ips: plan.ips } : {}),
        ...(plan.routes.length > 0 ? { routes: plan.routes } : {}),
        dns: conf.dns ?? ipam?.dns ?? {},
      };
    } catch (error) {
      await undoAdd(conf, ctx, veth, masq, ipam !== undefined);
      throw error;
    }
  } finally {
    ns.close();
  }
}

async function enterNetns(path: string): Promise<NetnsHandle> {
  try {
    return await openNetns(path);
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
  const bytes = crypto.getRandomValues(new Uint8Array(4));
  return "veth" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A random locally administered unicast MAC (what the kernel picks for a new bridge). */
function randomMac(): string {
  const b = crypto.getRandomValues(new Uint8Array(6));
  b[0] = (b[0] & 0xfe) | 0x02;
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(":");
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
 * The host side in one `ip -batch`. Returns the bridge's MAC. A concurrent ADD may create the bridge
 * between our look and our `link add`: then the batch stops at that line (nothing else ran), we look again
 * (it must be a bridge) and run the batch for an existing bridge.
 */
async function setupHostSide(
  conf: BridgeConf,
  ctx: PluginContext,
  veth: { name: string },
  gateways: BridgeGateway[],
): Promise<string> {
  for (let attempt = 0;; attempt++) {
    const existing = hostLink(conf.bridge);
    if (existing && !existing.isBridge) throw notABridge(conf.bridge);
    const created = !existing;
    const commands: string[][] = [];
    if (created) {
      // isGateway pins the bridge's MAC (the reference sets it to itself) so ports coming and going don't change it
      commands.push([
        "link",
        "add",
        "name",
        conf.bridge,
        ...(conf.mtu ? ["mtu", String(conf.mtu)] : []),
        ...(conf.isGateway && gateways.length > 0 ? ["address", randomMac()] : []),
        "type",
        "bridge",
      ]);
    }
    if (conf.promiscMode && !existing?.promisc) commands.push(["link", "set", conf.bridge, "promisc", "on"]);
    if (!existing?.up) commands.push(["link", "set", conf.bridge, "up"]);
    const vethAt = commands.length;
    commands.push([
      "link",
      "add",
      "name",
      veth.name,
      ...(conf.mtu ? ["mtu", String(conf.mtu)] : []),
      "up",
      "master",
      conf.bridge,
      "type",
      "veth",
      "peer",
      "name",
      ctx.ifname,
      ...(conf.mtu ? ["mtu", String(conf.mtu)] : []),
      ...(conf.mac ? ["address", conf.mac] : []),
      "netns",
      ctx.netns,
    ]);
    if (conf.hairpinMode) commands.push(["link", "set", veth.name, "type", "bridge_slave", "hairpin", "on"]);
    if (created) {
      for (const gw of gateways) commands.push(addrReplace(gw, conf.bridge));
    } else if (gateways.length > 0) {
      commands.push(["addr", "show", "dev", conf.bridge]);
    }
    const out = await batchReport(commands);
    if (!out.ok) {
      if (created && out.failedAt === 0 && isExists(out.error) && attempt < 3) continue; // lost the race: look again
      if (out.failedAt === vethAt && isExists(out.error)) {
        const ns = await openNetns(ctx.netns);
        try {
          if (await ns.run(() => linkExistsHere(ctx.ifname))) throw ifnameExists(ctx.ifname);
        } finally {
          ns.close();
        }
        if (attempt < 10) {
          veth.name = randomVethName(); // the host name was taken: like the reference, pick another
          continue;
        }
      }
      throw new Error(`failed to set up ${conf.bridge} and ${veth.name}: ${out.error}`);
    }
    // "we want to own the routes for this interface" (the reference): no router advertisements
    writeSysctl(`net/ipv6/conf/${conf.bridge}/accept_ra`, "0");
    writeSysctl(`net/ipv6/conf/${veth.name}/accept_ra`, "0");
    if (!created && gateways.length > 0) {
      const addrs = parseAddresses(out.shown.at(-1));
      // a bridge made by someone else gets its MAC pinned (to the one it had before our port joined)
      const pin = existing.addrAssignType !== NET_ADDR_SET ? existing.mac : undefined;
      await ensureGatewayAddresses(conf, gateways, addrs, pin);
    }
    return hostLink(conf.bridge)?.mac ?? "";
  }
}

function addrReplace(gw: BridgeGateway, dev: string): string[] {
  // `replace`, not `add`: two ADDs racing to a new bridge both set the same gateway without EEXIST
  return ["addr", "replace", gw.cidr, ...(gw.family === 4 ? ["broadcast", "+"] : []), "dev", dev];
}

/**
 * The reference's ensureAddr on an existing bridge: the gateway already there is fine; any other IPv4
 * address (or an overlapping IPv6 one) is an error unless forceAddress, which replaces it.
 */
async function ensureGatewayAddresses(
  conf: BridgeConf,
  gateways: BridgeGateway[],
  present: Address[],
  pinMac: string | undefined,
): Promise<void> {
  const commands: string[][] = [];
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
        commands.push(["addr", "del", a.cidr, "dev", conf.bridge]);
      }
    }
    if (!ok) commands.push(addrReplace(gw, conf.bridge));
  }
  // like the reference's ensureAddr: the MAC is set to itself once the address is in place
  if (pinMac && commands.length > 0) commands.push(["link", "set", conf.bridge, "address", pinMac]);
  const out = await batchReport(commands);
  if (!out.ok) throw new Error(`failed to set bridge addr on ${conf.bridge}: ${out.error}`);
}

/**
 * The container side, run inside the namespace: sysctls in-process, then one `ip -batch` (the reference's
 * ConfigureIface: link up, addresses, routes with the family's gateway as default next hop).
 * Returns the container interface's MAC.
 */
async function setupContainerSide(
  conf: BridgeConf,
  ifname: string,
  ips: ResultIp[],
  routes: ResultRoute[],
): Promise<string> {
  const commands: string[][] = [];
  if (conf.ipam) {
    writeSysctl(`net/ipv6/conf/${ifname}/accept_dad`, "0");
    writeSysctl(`net/ipv4/conf/${ifname}/arp_notify`, "1");
    if (ips.some((ip) => familyOf(ip.address) === 6)) {
      for (const dev of ["lo", ifname]) {
        if (readSysctl(`net/ipv6/conf/${dev}/disable_ipv6`) === "1") {
          writeSysctl(`net/ipv6/conf/${dev}/disable_ipv6`, "0");
        }
      }
    }
  }
  commands.push(["link", "set", ifname, "up"]);
  const gwOf: Record<Family, string | undefined> = { 4: undefined, 6: undefined };
  for (const ip of ips) {
    const family = familyOf(ip.address);
    commands.push(["addr", "add", ip.address, ...(family === 4 ? ["broadcast", "+"] : []), "dev", ifname]);
    if (ip.gateway && gwOf[family] === undefined) gwOf[family] = ip.gateway;
  }
  for (const r of routes) {
    const gw = r.gw ?? gwOf[familyOf(r.dst)];
    commands.push([
      "route",
      "append",
      r.dst,
      ...(gw ? ["via", gw] : []),
      "dev",
      ifname,
      ...(r.priority !== undefined ? ["metric", String(r.priority)] : []),
      ...(r.table !== undefined ? ["table", String(r.table)] : []),
      ...(r.scope !== undefined ? ["scope", String(r.scope)] : []),
      ...(r.mtu !== undefined ? ["mtu", String(r.mtu)] : []),
      ...(r.advmss !== undefined ? ["advmss", String(r.advmss)] : []),
    ]);
  }
  commands.push(["link", "show", "dev", ifname]);
  const out = await batchReport(commands);
  if (!out.ok) {
    const what = out.failedAt !== undefined ? commands[out.failedAt].join(" ") : "ip -batch";
    throw new Error(`failed to configure ${ifname} in the container: \`ip ${what}\`: ${out.error}`);
  }
  return parseLinks(out.shown.at(-1))[0]?.mac ?? "";
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
async function waitForPortUp(name: string) {
  for (const sleep of [0, 1, 1, 2, 2, 4, 8, 16, 32, 64, 128, 256, 500, 1000]) {
    if (sleep) await new Promise((resolve) => setTimeout(resolve, sleep));
    const port = hostLink(name);
    if (!port) throw new Error(`the host end ${name} disappeared`);
    if (port.operstate === "up") return port;
  }
  throw new Error(`bridge port in error state: ${hostLink(name)?.operstate ?? "gone"}`);
}

/** Undoes a failed ADD: NAT rules, the veth pair (its peer goes with it), the IPAM reservation. */
async function undoAdd(
  conf: BridgeConf,
  ctx: PluginContext,
  veth: { name: string; created: boolean },
  masq: string[] | undefined,
  ipam: boolean,
): Promise<void> {
  const report = (what: string, e: unknown) =>
    console.error(`cnilab-bridge: while undoing a failed ADD, ${what}: ${(e as Error).message ?? e}`);
  if (masq) {
    await teardownIpMasq(conf.network, ctx.containerId, masq).catch((e) => report("removing NAT rules", e));
  }
  if (veth.created && hostLink(veth.name)) {
    await batchReport([["link", "del", veth.name]]).catch((e) => report(`deleting ${veth.name}`, e));
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
    const ns = await enterNetns(ctx.netns);
    try {
      const onLink = await ns.run(() => deleteContainerLink(ctx.ifname));
      if (onLink && onLink.length > 0) addresses = onLink;
    } finally {
      ns.close();
    }
  } else {
    await deleteOrphanedHostEnd(conf, ctx);
  }
  phase("DEL: container link deleted");
  if (conf.ipam) await delegate(conf.ipam.type, "DEL", ctx);
  phase("DEL: IPAM done");
  if (conf.ipam && conf.ipMasq) await teardownIpMasq(conf.network, ctx.containerId, addresses);
}

/** The host end named in prevResult, when it is still a `veth<8 hex>` port of this bridge: deleted. */
async function deleteOrphanedHostEnd(conf: BridgeConf, ctx: PluginContext): Promise<void> {
  for (const i of ctx.config.prevResult?.interfaces ?? []) {
    if (i.sandbox || i.name === conf.bridge || !/^veth[0-9a-f]{8}$/.test(i.name)) continue;
    const port = hostLink(i.name);
    if (!port || port.master !== conf.bridge) continue;
    const out = await batchReport([["link", "del", i.name]]);
    if (!out.ok && !isNoDevice(out.error)) {
      throw new Error(`failed to delete the host end ${i.name}: ${out.error}`);
    }
  }
}

/** Deletes the container's link (inside the namespace); returns its global addresses, undefined if absent. */
async function deleteContainerLink(ifname: string): Promise<string[] | undefined> {
  const out = await batchReport([["addr", "show", "dev", ifname], ["link", "del", ifname]]);
  if (!out.ok) {
    if (isNoDevice(out.error)) return undefined;
    throw new Error(`failed to delete ${JSON.stringify(ifname)}: ${out.error}`);
  }
  return parseAddresses(out.shown[0]).filter((a) => isGlobalUnicast(a.local)).map((a) => a.cidr);
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
  const ns = await enterNetns(ctx.netns);
  try {
    if (conf.ipam) await delegate(conf.ipam.type, "CHECK", ctx);
    const prev = ctx.config.prevResult;
    if (!prev) throw new CniError(ErrorCode.InvalidNetworkConfig, "Required prevResult missing");
    const interfaces = prev.interfaces ?? [];
    const brIf = interfaces.find((i) => i.name === conf.bridge);
    const contIf = interfaces.find((i) => i.name === ctx.ifname && i.sandbox === ctx.netns);

    // the bridge
    if (!brIf) fail(`CNI created bridge ${conf.bridge} in host namespace was not found`);
    if (brIf.sandbox) fail(`Interface ${brIf.name} should not be in sandbox`);
    const br = hostLink(conf.bridge);
    if (!br) fail(`Interface name ${conf.bridge} not found`);
    if (!br.isBridge) fail(`Interface ${conf.bridge} does not have link type of bridge`);
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
    const inside = await ns.run(async () => ({
      link: await iproute2.link.get(ctx.ifname),
      addrs: await iproute2.addr.list({ dev: ctx.ifname }).catch(() => []),
      routes: [...await iproute2.route.list({ family: 4 }), ...await iproute2.route.list({ family: 6 })],
    }));
    const cont = inside.link ?? fail(`Interface name ${ctx.ifname} not found`);
    if (cont.kind !== "veth") fail(`Error: Container interface ${ctx.ifname} not of type veth`);
    if (contIf.mac && contIf.mac !== cont.mac) {
      fail(`Interface ${ctx.ifname} Mac ${contIf.mac} doesn't match container Mac: ${cont.mac}`);
    }
    // the host veth: the container interface's peer, enslaved to the bridge
    const hostVeth = interfaces
      .filter((i) => i !== brIf && i !== contIf)
      .flatMap((i) => {
        const l = hostLink(i.name);
        return l ? [{ i, l }] : [];
      })
      .find(({ l }) => l.ifindex === cont.peerIndex && l.iflink === cont.index && l.master === conf.bridge);
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
        return sameDst && (!r.gw || (!!have.via && sameIp(have.via, r.gw)));
      });
      if (!found) {
        fail(`route (${r.dst}${r.gw ? ` via ${r.gw}` : ""}) not found in ${ctx.ifname}'s namespace`);
      }
    }
  } finally {
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
  await gcIpMasq(conf.network, new Set(ctx.validAttachments.map((a) => a.containerID)))
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
