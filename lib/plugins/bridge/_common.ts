/**
 * What the bridge's ADD, DEL and CHECK share: netlink sockets in and out of the container, the trace
 * switch, address helpers, the checked config and the namespace errors.
 * @module
 */
import { process } from "../../sys/process.ts";
import { CniError, ErrorCode } from "../../cni/errors.ts";
import { type Cidr, type Family, formatIp, ipEquals, networkOf, offset, parseIp } from "../../cni/ip.ts";
import { Errno, Netlink, NetlinkError } from "../../netlink/mod.ts";
import type { PluginContext } from "../plugin.ts";
import { type BridgeConf, loadConf } from "./config.ts";
import { refuseIpamLoop } from "./delegate.ts";
import { NetnsError, type NetnsHandle, openNetns } from "./netns.ts";

/** The NAT rules' module: iptables processes, loaded only when a config has ipMasq (or for GC). */
export const ipMasq = () => import("./ipmasq.ts");

/** The kernel said "File exists". */
export function isExists(e: unknown): boolean {
  return e instanceof NetlinkError && e.errno === Errno.EEXIST;
}

/** The kernel said "No such device". */
export function isNoDevice(e: unknown): boolean {
  return e instanceof NetlinkError && e.errno === Errno.ENODEV;
}

/** The sockets of one CNI call: one in the host namespace, one opened inside the container's. */
export interface Sockets {
  host: Netlink;
  ctr: Netlink;
}

export function openSockets(ns: NetnsHandle): Sockets {
  const host = Netlink.open();
  try {
    // opened with the thread inside: the socket stays bound to the container's namespace
    return { host, ctr: ns.run(() => Netlink.open({ label: ns.path.split("/").pop() })) };
  } catch (e) {
    host.close();
    throw e;
  }
}

export function closeSockets(s: Sockets): void {
  s.host.close();
  s.ctr.close();
}

/**
 * CNILAB_PLUGIN_TRACE=1: print each phase of ADD/DEL with the time since the process started (Bun's
 * performance.now() counts from process start, so the first line also shows the runtime's start-up).
 */
export const TRACE = process.env.CNILAB_PLUGIN_TRACE === "1";
export function phase(label: string): void {
  if (TRACE) console.error(`cnilab-bridge: ${performance.now().toFixed(2).padStart(7)} ms  ${label}`);
}

// ---------------------------------------------------------------------------------------------------
// Address helpers (on lib/cni/ip.ts)

/** The family of an address or CIDR in text. */
export function familyOf(text: string): Family {
  return text.includes(":") ? 6 : 4;
}

/** Two addresses in text are the same address. */
export function sameIp(a: string, b: string): boolean {
  return ipEquals(parseIp(a), parseIp(b));
}

/** The gateway the reference bridge picks when IPAM gives none: the subnet's first address (network + 1). */
export function defaultGateway(net: Cidr): string {
  return formatIp(offset(networkOf(net), 1));
}

/** What Go's IsGlobalUnicast keeps: not unspecified, loopback, link-local, multicast or broadcast. */
export function isGlobalUnicast(text: string): boolean {
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

/** A gateway address to put on the bridge: the gateway with the prefix length of the pod's address. */
export interface BridgeGateway {
  family: Family;
  cidr: string;
}

/** The bridge's config, with a looping `ipam.type` refused (code 7) before anything is done. */
export async function loadChecked(ctx: PluginContext): Promise<BridgeConf> {
  const conf = loadConf(ctx);
  if (conf.ipam || ctx.delegatedBy.length > 0) await refuseIpamLoop(conf.ipam?.type ?? "", ctx);
  return conf;
}

export function enterNetns(path: string): NetnsHandle {
  try {
    return openNetns(path);
  } catch (e) {
    if (e instanceof NetnsError) {
      throw new CniError(ErrorCode.InvalidEnvironment, e.message, "CNI_NETNS must name a network namespace");
    }
    throw e;
  }
}

export function ifnameExists(ifname: string): CniError {
  return new CniError(
    ErrorCode.Internal,
    `container veth name provided (${ifname}) already exists`,
    "the container already has an interface of that name: DEL the attachment first or choose another CNI_IFNAME",
  );
}

export function notABridge(name: string): CniError {
  return new CniError(
    ErrorCode.Internal,
    `failed to create bridge ${JSON.stringify(name)}: ${
      JSON.stringify(name)
    } already exists but is not a bridge`,
    `another link on the host is called ${name}; set "bridge" to a free name (cnilab never enslaves or changes it)`,
  );
}
