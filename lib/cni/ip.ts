/**
 * Small IPv4/IPv6 address math on BigInt: parse, format (the canonical text Go's net.IP prints, which is
 * also the name of host-local's reservation files), subnets and ranges.
 *
 * Written here rather than imported: importing the `ip-address` package slows every start of a compiled
 * plugin, and a plugin starts on every CNI operation (the figure is in docs/decisions.md, "Address
 * math").
 * @module
 */
import { ipv6Text } from "../util/ipv6.ts";

/** An address family. */
export type Family = 4 | 6;

/** An address: its family and its value as an unsigned integer. */
export interface Ip {
  family: Family;
  value: bigint;
}

/** A prefix as written (`10.1.2.3/24` keeps the host bits in `ip`). */
export interface Cidr {
  ip: Ip;
  prefix: number;
}

/** Address width in bits. */
export function bits(family: Family): number {
  return family === 4 ? 32 : 128;
}

function parseV4(text: string): bigint | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let v = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || (p.length > 1 && p[0] === "0")) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    v = (v << 8n) | BigInt(n);
  }
  return v;
}

function parseV6(text: string): bigint | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(text)) return undefined;
  let groups: number[] = [];
  // a trailing dotted quad is two groups
  const lastColon = text.lastIndexOf(":");
  let head = text;
  let tail: number[] = [];
  if (text.includes(".")) {
    const v4 = parseV4(text.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    tail = [Number(v4 >> 16n), Number(v4 & 0xffffn)];
    head = text.slice(0, lastColon + 1);
    if (head.endsWith(":") && !head.endsWith("::")) head = head.slice(0, -1);
  }
  const halves = head.split("::");
  if (halves.length > 2) return undefined;
  const parse = (s: string): number[] | undefined => {
    if (s === "") return [];
    const out: number[] = [];
    for (const g of s.split(":")) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const left = parse(halves[0]);
  const right = halves.length === 2 ? parse(halves[1]) : [];
  if (!left || !right) return undefined;
  const total = left.length + right.length + tail.length;
  if (halves.length === 2) {
    if (total > 7) return undefined;
    groups = [...left, ...new Array(8 - total).fill(0), ...right, ...tail];
  } else {
    if (total !== 8) return undefined;
    groups = [...left, ...tail];
  }
  let v = 0n;
  for (const g of groups) v = (v << 16n) | BigInt(g);
  return v;
}

/** Parses an address (`10.0.0.1`, `fd00::1`); undefined when it is not one. IPv4-mapped IPv6 becomes IPv4. */
export function parseIp(text: string): Ip | undefined {
  if (typeof text !== "string") return undefined;
  if (!text.includes(":")) {
    const v = parseV4(text);
    return v === undefined ? undefined : { family: 4, value: v };
  }
  const v = parseV6(text);
  if (v === undefined) return undefined;
  if (v >> 32n === 0xffffn) return { family: 4, value: v & 0xffffffffn }; // ::ffff:a.b.c.d, as Go does
  return { family: 6, value: v };
}

/** Formats an address the way Go's net.IP.String() does (RFC 5952 for IPv6). */
export function formatIp(ip: Ip): string {
  if (ip.family === 4) {
    const v = ip.value;
    return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 0xffn)).join(".");
  }
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((ip.value >> BigInt(i * 16)) & 0xffffn));
  return ipv6Text(groups);
}

/** Parses `ADDRESS/PREFIX`; undefined when it is not one. */
export function parseCidr(text: string): Cidr | undefined {
  if (typeof text !== "string") return undefined;
  const slash = text.indexOf("/");
  if (slash < 0) return undefined;
  const p = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(p)) return undefined;
  const addrText = text.slice(0, slash);
  // an IPv4-mapped address with an IPv6 prefix stays IPv6 here (Go keeps its 16-byte mask)
  const ip = addrText.includes(":") ? mappedAware(addrText) : parseIp(addrText);
  if (!ip) return undefined;
  const prefix = Number(p);
  if (prefix > bits(ip.family)) return undefined;
  return { ip, prefix };
}

function mappedAware(text: string): Ip | undefined {
  const v = parseV6(text);
  return v === undefined ? undefined : { family: 6, value: v };
}

/** `ADDRESS/PREFIX` as text. */
export function formatCidr(cidr: Cidr): string {
  return `${formatIp(cidr.ip)}/${cidr.prefix}`;
}

/** The host-bits mask of a prefix. */
function hostMask(family: Family, prefix: number): bigint {
  return (1n << BigInt(bits(family) - prefix)) - 1n;
}

/** The network address of a prefix (host bits cleared). */
export function networkOf(cidr: Cidr): Ip {
  return { family: cidr.ip.family, value: cidr.ip.value & ~hostMask(cidr.ip.family, cidr.prefix) };
}

/** The last address of a prefix (all host bits set; the broadcast address for IPv4). */
export function lastOf(cidr: Cidr): Ip {
  return { family: cidr.ip.family, value: cidr.ip.value | hostMask(cidr.ip.family, cidr.prefix) };
}

/** True when `ip` lies inside the prefix. */
export function contains(cidr: Cidr, ip: Ip): boolean {
  if (ip.family !== cidr.ip.family) return false;
  return networkOf(cidr).value === (ip.value & ~hostMask(ip.family, cidr.prefix));
}

/** The address `n` after `ip` (negative: before). */
export function offset(ip: Ip, n: bigint | number): Ip {
  return { family: ip.family, value: ip.value + BigInt(n) };
}

/** Same family and value. */
export function ipEquals(a: Ip | undefined, b: Ip | undefined): boolean {
  return !!a && !!b && a.family === b.family && a.value === b.value;
}

/** Orders two addresses of one family (-1, 0, 1). */
export function compareIp(a: Ip, b: Ip): number {
  return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
}

/**
 * True for an IPv4-mapped IPv6 address or prefix in text (`::ffff:10.0.0.1`, `::ffff:10.253.1.0/120`).
 * Go reads them as IPv4 addresses with a 16-byte mask; the plugins refuse them (neither family is meant).
 */
export function isV4Mapped(text: string): boolean {
  const addr = text.split("/")[0];
  if (!addr.includes(":")) return false;
  const v = parseV6(addr);
  return v !== undefined && v >> 32n === 0xffffn;
}
