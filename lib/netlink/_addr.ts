/**
 * IP addresses as the kernel takes them: 4 or 16 bytes. Text in, text out (`10.0.0.2/24`, `fd00::1`).
 * @module
 */
import { ipv6Text } from "../util/ipv6.ts";

/** An address with its prefix length, as bytes. */
export interface Prefix {
  family: 4 | 6;
  bytes: Uint8Array;
  length: number;
}

function parseV4(text: string): Uint8Array | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    if (!/^\d{1,3}$/.test(parts[i]) || Number(parts[i]) > 255) return undefined;
    out[i] = Number(parts[i]);
  }
  return out;
}

function parseV6(text: string): Uint8Array | undefined {
  let head = text;
  let tail = "";
  const dbl = text.indexOf("::");
  if (dbl >= 0) {
    head = text.slice(0, dbl);
    tail = text.slice(dbl + 2);
    if (tail.includes("::")) return undefined;
  }
  const groups = (s: string): number[] | undefined => {
    if (s === "") return [];
    const out: number[] = [];
    const parts = s.split(":");
    for (const [i, p] of parts.entries()) {
      if (i === parts.length - 1 && p.includes(".")) {
        const v4 = parseV4(p);
        if (!v4) return undefined;
        out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return undefined;
        out.push(parseInt(p, 16));
      }
    }
    return out;
  };
  const h = groups(head);
  const t = groups(tail);
  if (!h || !t) return undefined;
  const missing = 8 - h.length - t.length;
  if (dbl >= 0 ? missing < 1 : missing !== 0) return undefined;
  const all = [...h, ...new Array(missing).fill(0), ...t];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

/** `10.0.0.1` or `fd00::1` → bytes; undefined when it is neither. */
export function parseAddress(text: string): Uint8Array | undefined {
  return text.includes(":") ? parseV6(text) : parseV4(text);
}

/** `10.0.0.2/24` (a bare address is a host prefix) → bytes and length; throws on bad text. */
export function parsePrefix(text: string): Prefix {
  const [ip, len, ...rest] = text.split("/");
  const bytes = parseAddress(ip);
  const max = bytes?.length === 16 ? 128 : 32;
  const length = len === undefined ? max : Number(len);
  if (!bytes || rest.length > 0 || !Number.isInteger(length) || length < 0 || length > max || len === "") {
    throw new Error(`netlink: not an address or prefix: ${JSON.stringify(text)}`);
  }
  return { family: bytes.length === 16 ? 6 : 4, bytes, length };
}

/** Bytes → `10.0.0.1` or the shortest IPv6 text (RFC 5952: longest zero run of 2+ groups as `::`). */
export function formatAddress(b: Uint8Array): string {
  if (b.length === 4) return Array.from(b).join(".");
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push((b[i] << 8) | b[i + 1]);
  return ipv6Text(g);
}

/** The broadcast address of an IPv4 prefix (`ip addr add ... broadcast +`). */
export function broadcastOf(p: Prefix): Uint8Array {
  const out = Uint8Array.from(p.bytes);
  for (let bit = p.length; bit < 32; bit++) out[bit >> 3] |= 0x80 >> (bit & 7);
  return out;
}

/** The prefix's network address (host bits cleared), as the kernel keeps a route's destination. */
export function networkOf(p: Prefix): Uint8Array {
  const out = Uint8Array.from(p.bytes);
  for (let bit = p.length; bit < out.length * 8; bit++) out[bit >> 3] &= ~(0x80 >> (bit & 7));
  return out;
}
