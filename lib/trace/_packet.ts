/**
 * Bytes on the wire: the pcap stream tcpdump writes (`-w -`, nanosecond timestamps), the frames in it
 * (Ethernet, ARP, IPv4, ICMP, TCP, UDP), and the pcapng file `--pcap` writes (one interface per hop).
 * @module
 */
import { hex } from "../util/mod.ts";

/** One captured frame. */
export interface Frame {
  /** Capture time, ns since the epoch (the kernel's timestamp). */
  ts: bigint;
  data: Uint8Array;
  /** Length on the wire (data may be cut at the snap length). */
  wireLength: number;
}

/** What a frame is, decoded. */
export interface Decoded {
  macSrc: string;
  macDst: string;
  arp?: { op: "request" | "reply"; senderMac: string; senderIp: string; targetIp: string };
  ip?: {
    src: string;
    dst: string;
    ttl: number;
    id: number;
    protocol: "icmp" | "tcp" | "udp" | number;
    icmp?: { type: number; code: number; id?: number; seq?: number; payload: Uint8Array; inner?: Inner };
    tcp?: { sport: number; dport: number; flags: string };
    udp?: { sport: number; dport: number; payload: Uint8Array };
  };
}

/** The start of the packet an ICMP error quotes. */
export interface Inner {
  src: string;
  dst: string;
  protocol: number;
  sport?: number;
  dport?: number;
  icmpId?: number;
  icmpSeq?: number;
}

const mac = (b: Uint8Array, at: number) => hex(b.subarray(at, at + 6), ":");
const ipv4 = (b: Uint8Array, at: number) => Array.from(b.subarray(at, at + 4)).join(".");
const u16 = (b: Uint8Array, at: number) => (b[at] << 8) | b[at + 1];

/** Parses a classic pcap stream (either byte order, µs or ns timestamps). */
export function parsePcap(bytes: Uint8Array): Frame[] {
  if (bytes.length < 24) return [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magicLe = view.getUint32(0, true);
  let le: boolean;
  let nano: boolean;
  if (magicLe === 0xa1b2c3d4 || magicLe === 0xa1b23c4d) [le, nano] = [true, magicLe === 0xa1b23c4d];
  else if (view.getUint32(0, false) === 0xa1b2c3d4 || view.getUint32(0, false) === 0xa1b23c4d) {
    [le, nano] = [false, view.getUint32(0, false) === 0xa1b23c4d];
  } else throw new Error("not a pcap stream (bad magic number)");
  const frames: Frame[] = [];
  for (let at = 24; at + 16 <= bytes.length;) {
    const sec = view.getUint32(at, le);
    const frac = view.getUint32(at + 4, le);
    const incl = view.getUint32(at + 8, le);
    const orig = view.getUint32(at + 12, le);
    if (at + 16 + incl > bytes.length) break; // cut short when the capture stopped
    frames.push({
      ts: BigInt(sec) * 1_000_000_000n + BigInt(nano ? frac : frac * 1000),
      data: bytes.slice(at + 16, at + 16 + incl),
      wireLength: orig,
    });
    at += 16 + incl;
  }
  return frames;
}

function tcpFlags(b: number): string {
  return [[0x02, "S"], [0x10, "."], [0x01, "F"], [0x04, "R"], [0x08, "P"]]
    .filter(([bit]) => (b & (bit as number)) !== 0).map(([, n]) => n).join("");
}

function inner(b: Uint8Array, at: number): Inner | undefined {
  if (b.length < at + 20) return undefined;
  const ihl = (b[at] & 0x0f) * 4;
  const protocol = b[at + 9];
  const l4 = at + ihl;
  const out: Inner = { src: ipv4(b, at + 12), dst: ipv4(b, at + 16), protocol };
  if ((protocol === 6 || protocol === 17) && b.length >= l4 + 4) {
    out.sport = u16(b, l4);
    out.dport = u16(b, l4 + 2);
  }
  if (protocol === 1 && b.length >= l4 + 8) {
    out.icmpId = u16(b, l4 + 4);
    out.icmpSeq = u16(b, l4 + 6);
  }
  return out;
}

/** Decodes an Ethernet frame (undefined for what a trace does not follow: IPv6, LLDP, …). */
export function decode(b: Uint8Array): Decoded | undefined {
  if (b.length < 14) return undefined;
  const out: Decoded = { macDst: mac(b, 0), macSrc: mac(b, 6) };
  const type = u16(b, 12);
  if (type === 0x0806 && b.length >= 42) {
    const op = u16(b, 20);
    out.arp = {
      op: op === 2 ? "reply" : "request",
      senderMac: mac(b, 22),
      senderIp: ipv4(b, 28),
      targetIp: ipv4(b, 38),
    };
    return out;
  }
  if (type !== 0x0800 || b.length < 34) return undefined;
  const at = 14;
  const ihl = (b[at] & 0x0f) * 4;
  const proto = b[at + 9];
  const l4 = at + ihl;
  const ip: NonNullable<Decoded["ip"]> = {
    src: ipv4(b, at + 12),
    dst: ipv4(b, at + 16),
    ttl: b[at + 8],
    id: u16(b, at + 4),
    protocol: proto === 1 ? "icmp" : proto === 6 ? "tcp" : proto === 17 ? "udp" : proto,
  };
  if (proto === 1 && b.length >= l4 + 8) {
    const t = b[l4];
    const echo = t === 0 || t === 8;
    ip.icmp = {
      type: t,
      code: b[l4 + 1],
      id: echo ? u16(b, l4 + 4) : undefined,
      seq: echo ? u16(b, l4 + 6) : undefined,
      payload: b.subarray(l4 + 8),
      inner: t === 3 || t === 11 ? inner(b, l4 + 8) : undefined,
    };
  } else if (proto === 6 && b.length >= l4 + 14) {
    ip.tcp = { sport: u16(b, l4), dport: u16(b, l4 + 2), flags: tcpFlags(b[l4 + 13]) };
  } else if (proto === 17 && b.length >= l4 + 8) {
    ip.udp = { sport: u16(b, l4), dport: u16(b, l4 + 2), payload: b.subarray(l4 + 8) };
  }
  out.ip = ip;
  return out;
}

// ---------------------------------------------------------------------------------------------------
// pcapng (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng-02.html): a Section Header Block, one
// Interface Description Block per hop (name "ns/ifname", nanosecond resolution), Enhanced Packet Blocks.

function pad4(n: number): number {
  return (n + 3) & ~3;
}

function option(code: number, value: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + pad4(value.length));
  const v = new DataView(out.buffer);
  v.setUint16(0, code, true);
  v.setUint16(2, value.length, true);
  out.set(value, 4);
  return out;
}

function block(type: number, body: Uint8Array): Uint8Array {
  const length = 12 + body.length;
  const out = new Uint8Array(length);
  const v = new DataView(out.buffer);
  v.setUint32(0, type, true);
  v.setUint32(4, length, true);
  out.set(body, 8);
  v.setUint32(length - 4, length, true);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const END_OF_OPTIONS = new Uint8Array(4);

/** A pcapng file with one interface per hop, in hop order, and every frame on its hop's interface. */
export function pcapng(interfaces: { name: string; frames: Frame[] }[]): Uint8Array {
  const text = new TextEncoder();
  const shbBody = new Uint8Array(16);
  const shb = new DataView(shbBody.buffer);
  shb.setUint32(0, 0x1a2b3c4d, true); // byte-order magic
  shb.setUint16(4, 1, true); // version 1.0
  shb.setUint16(6, 0, true);
  shb.setBigInt64(8, -1n, true); // section length not given
  const blocks = [
    block(0x0a0d0d0a, concat([shbBody, option(4, text.encode("cnilab trace")), END_OF_OPTIONS])),
  ];
  for (const i of interfaces) {
    const head = new Uint8Array(8);
    const v = new DataView(head.buffer);
    v.setUint16(0, 1, true); // LINKTYPE_ETHERNET
    v.setUint32(4, 262144, true); // snap length
    blocks.push(block(
      0x00000001,
      concat([head, option(2, text.encode(i.name)), option(9, new Uint8Array([9])), END_OF_OPTIONS]),
    ));
  }
  const packets = interfaces.flatMap((i, index) => i.frames.map((f) => ({ index, f })))
    .sort((a, b) => (a.f.ts < b.f.ts ? -1 : a.f.ts > b.f.ts ? 1 : 0));
  for (const { index, f } of packets) {
    const head = new Uint8Array(20);
    const v = new DataView(head.buffer);
    v.setUint32(0, index, true);
    v.setUint32(4, Number(f.ts >> 32n), true);
    v.setUint32(8, Number(f.ts & 0xffffffffn), true);
    v.setUint32(12, f.data.length, true);
    v.setUint32(16, f.wireLength, true);
    const data = new Uint8Array(pad4(f.data.length));
    data.set(f.data);
    blocks.push(block(0x00000006, concat([head, data])));
  }
  return concat(blocks);
}

/** The blocks of a pcapng file: type and, for interfaces, their names (what a test reads back). */
export function pcapngBlocks(bytes: Uint8Array): { type: number; name?: string; iface?: number }[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: { type: number; name?: string; iface?: number }[] = [];
  for (let at = 0; at + 12 <= bytes.length;) {
    const type = v.getUint32(at, true);
    const length = v.getUint32(at + 4, true);
    if (length < 12 || at + length > bytes.length || v.getUint32(at + length - 4, true) !== length) {
      throw new Error(`pcapng: bad block length at byte ${at}`);
    }
    const entry: { type: number; name?: string; iface?: number } = { type };
    if (type === 1) {
      for (let o = at + 16; o + 4 <= at + length - 4;) {
        const code = v.getUint16(o, true);
        const len = v.getUint16(o + 2, true);
        if (code === 0) break;
        if (code === 2) entry.name = new TextDecoder().decode(bytes.subarray(o + 4, o + 4 + len));
        o += 4 + pad4(len);
      }
    }
    if (type === 6) entry.iface = v.getUint32(at + 8, true);
    out.push(entry);
    at += length;
  }
  return out;
}
