/**
 * What the bridge needs to know about a link in the HOST namespace, read from sysfs in-process.
 *
 * /sys/class/net shows the links of the namespace sysfs was mounted in (the host's, where a plugin runs);
 * reading a few small files costs microseconds where an `ip -json link show` costs a process (~1.5 ms),
 * and ADD asks these questions on every call (does the bridge exist, is it a bridge, its MAC, is the
 * host port up yet).
 * @module
 */
import { readFileSync, readlinkSync, statSync } from "node:fs";
import { hasControlChar } from "../../cni/fields.ts";

const IFF_UP = 0x1;
const IFF_PROMISC = 0x100;
/** addr_assign_type: the MAC was set explicitly (NET_ADDR_SET). */
export const NET_ADDR_SET = 3;

/** A host link as sysfs shows it. */
export interface HostLink {
  name: string;
  ifindex: number;
  /** For a veth: the peer's ifindex (in the peer's namespace). */
  iflink: number;
  isBridge: boolean;
  mac: string;
  mtu: number;
  up: boolean;
  promisc: boolean;
  operstate: string;
  addrAssignType: number;
  /** The bridge this link is a port of. */
  master?: string;
}

function read(name: string, file: string): string {
  return readFileSync(`/sys/class/net/${name}/${file}`, "utf8").trim();
}

/** Reads a host link; undefined when there is none of that name. */
export function hostLink(name: string): HostLink | undefined {
  // names come from configs and prevResults: never let one walk out of /sys/class/net
  if (!/^[^\/\s:]{1,15}$/.test(name) || hasControlChar(name) || name === "." || name === "..") {
    return undefined;
  }
  try {
    if (!statSync(`/sys/class/net/${name}`).isDirectory()) return undefined;
  } catch {
    return undefined;
  }
  try {
    const flags = parseInt(read(name, "flags"), 16);
    let isBridge = false;
    try {
      isBridge = statSync(`/sys/class/net/${name}/bridge`).isDirectory();
    } catch {
      // not a bridge
    }
    let master: string | undefined;
    try {
      master = readlinkSync(`/sys/class/net/${name}/master`).split("/").pop();
    } catch {
      // not enslaved
    }
    return {
      name,
      ifindex: Number(read(name, "ifindex")),
      iflink: Number(read(name, "iflink")),
      isBridge,
      mac: read(name, "address"),
      mtu: Number(read(name, "mtu")),
      up: (flags & IFF_UP) !== 0,
      promisc: (flags & IFF_PROMISC) !== 0,
      operstate: read(name, "operstate"),
      addrAssignType: Number(read(name, "addr_assign_type")),
      master,
    };
  } catch {
    // removed while we were reading it
    return undefined;
  }
}

/** The hairpin flag of a bridge port. */
export function hairpinOf(port: string): boolean | undefined {
  try {
    return read(port, "brport/hairpin_mode") === "1";
  } catch {
    return undefined;
  }
}
