/**
 * rtnetlink on the wire: the numbers of <linux/netlink.h>, <linux/rtnetlink.h>, <linux/if_link.h> and
 * <linux/if_addr.h>, a message builder (header, fixed part, attributes, nests) and an attribute parser.
 * Everything is little-endian, as on the x86-64 and arm64 machines cnilab runs on.
 * @module
 */
import { hex } from "../util/mod.ts";

export const AF_UNSPEC = 0;
export const AF_INET = 2;
export const AF_BRIDGE = 7;
export const AF_INET6 = 10;
export const AF_NETLINK = 16;

/** Message types. */
export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
export const RTM_GETLINK = 18;
export const RTM_SETLINK = 19;
export const RTM_NEWADDR = 20;
export const RTM_DELADDR = 21;
export const RTM_GETADDR = 22;
export const RTM_NEWROUTE = 24;
export const RTM_DELROUTE = 25;
export const RTM_GETROUTE = 26;

/** The names `ip monitor` and strace print. */
export const MESSAGE_NAMES: Record<number, string> = {
  [NLMSG_NOOP]: "NLMSG_NOOP",
  [NLMSG_ERROR]: "NLMSG_ERROR",
  [NLMSG_DONE]: "NLMSG_DONE",
  [RTM_NEWLINK]: "RTM_NEWLINK",
  [RTM_DELLINK]: "RTM_DELLINK",
  [RTM_GETLINK]: "RTM_GETLINK",
  [RTM_SETLINK]: "RTM_SETLINK",
  [RTM_NEWADDR]: "RTM_NEWADDR",
  [RTM_DELADDR]: "RTM_DELADDR",
  [RTM_GETADDR]: "RTM_GETADDR",
  [RTM_NEWROUTE]: "RTM_NEWROUTE",
  [RTM_DELROUTE]: "RTM_DELROUTE",
  [RTM_GETROUTE]: "RTM_GETROUTE",
};

/** Header flags. */
export const NLM_F_REQUEST = 0x1;
export const NLM_F_MULTI = 0x2;
export const NLM_F_ACK = 0x4;
export const NLM_F_DUMP = 0x300;
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
export const NLM_F_APPEND = 0x800;
export const NLA_F_NESTED = 0x8000;

/** Link flags (ifi_flags). */
export const IFF_UP = 0x1;
export const IFF_LOOPBACK = 0x8;
export const IFF_PROMISC = 0x100;
export const IFF_LOWER_UP = 0x10000;

/** Link attributes. */
export const IFLA_ADDRESS = 1;
export const IFLA_IFNAME = 3;
export const IFLA_MTU = 4;
export const IFLA_LINK = 5;
export const IFLA_MASTER = 10;
export const IFLA_PROTINFO = 12;
export const IFLA_TXQLEN = 13;
export const IFLA_OPERSTATE = 16;
export const IFLA_LINKINFO = 18;
export const IFLA_IFALIAS = 20;
export const IFLA_NET_NS_FD = 28;
export const IFLA_EXT_MASK = 29;
export const IFLA_PROMISCUITY = 30;
export const IFLA_LINK_NETNSID = 37;
export const IFLA_INFO_KIND = 1;
export const IFLA_INFO_DATA = 2;
export const VETH_INFO_PEER = 1;
export const IFLA_BRPORT_MODE = 4;
/** IFLA_EXT_MASK: RTEXT_FILTER_VF | RTEXT_FILTER_SKIP_STATS, what `ip` asks (no per-VF data, no stats). */
export const RTEXT_FILTER = 0x1 | 0x8;

/** Address attributes. */
export const IFA_ADDRESS = 1;
export const IFA_LOCAL = 2;
export const IFA_LABEL = 3;
export const IFA_BROADCAST = 4;
export const IFA_FLAGS = 8;

/** Route attributes, metrics, tables, protocols, scopes, types. */
export const RTA_DST = 1;
export const RTA_OIF = 4;
export const RTA_GATEWAY = 5;
export const RTA_PRIORITY = 6;
export const RTA_PREFSRC = 7;
export const RTA_METRICS = 8;
export const RTA_TABLE = 15;
export const RTAX_MTU = 2;
export const RTAX_ADVMSS = 8;
export const RT_TABLE_MAIN = 254;
export const RTPROT_KERNEL = 2;
export const RTPROT_BOOT = 3;
export const RT_SCOPE_UNIVERSE = 0;
export const RT_SCOPE_LINK = 253;
export const RT_SCOPE_HOST = 254;
export const RT_SCOPE_NOWHERE = 255;
export const RTN_UNICAST = 1;

/** Scope numbers by the names `ip` prints (and back). */
export const SCOPE_NAMES: Record<number, string> = {
  0: "global",
  200: "site",
  253: "link",
  254: "host",
  255: "nowhere",
};

/** Operational states (IFLA_OPERSTATE) as `ip` prints them, lower-case like sysfs. */
export const OPERSTATES = ["unknown", "notpresent", "down", "lowerlayerdown", "testing", "dormant", "up"];

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Sizes of the fixed parts. */
export const NLMSG_HDRLEN = 16;
export const IFINFOMSG_LEN = 16;
export const IFADDRMSG_LEN = 8;
export const RTMSG_LEN = 12;

const align = (n: number) => (n + 3) & ~3;

/**
 * Builds one netlink message: the 16-byte header, the fixed part, then attributes in the order they are
 * added (the order `ip` sends them in, so the bytes compare). `nest` opens an attribute whose payload is
 * what is added until `end`.
 */
export class MessageBuilder {
  private buf = new Uint8Array(256);
  private view = new DataView(this.buf.buffer);
  private len = NLMSG_HDRLEN;
  private readonly open: number[] = [];

  constructor(readonly type: number, readonly flags: number) {}

  private reserve(n: number): number {
    const at = this.len;
    const need = at + align(n);
    if (need > this.buf.length) {
      const bigger = new Uint8Array(Math.max(need, this.buf.length * 2));
      bigger.set(this.buf);
      this.buf = bigger;
      this.view = new DataView(bigger.buffer);
    }
    this.len = need;
    return at;
  }

  /** Appends raw bytes (a fixed part such as ifinfomsg), padded to 4. */
  bytes(data: Uint8Array): this {
    const at = this.reserve(data.length);
    this.buf.set(data, at);
    return this;
  }

  /** struct ifinfomsg. */
  ifinfomsg(family: number, index: number, flags: number, change: number): this {
    const at = this.reserve(IFINFOMSG_LEN);
    this.view.setUint8(at, family);
    this.view.setInt32(at + 4, index, true);
    this.view.setUint32(at + 8, flags, true);
    this.view.setUint32(at + 12, change, true);
    return this;
  }

  /** struct ifaddrmsg. */
  ifaddrmsg(family: number, prefixLength: number, flags: number, scope: number, index: number): this {
    const at = this.reserve(IFADDRMSG_LEN);
    this.buf.set([family, prefixLength, flags, scope], at);
    this.view.setUint32(at + 4, index, true);
    return this;
  }

  /** struct rtmsg (its rtm_flags stay 0). */
  rtmsg(
    m: { family: number; dstLen: number; table: number; protocol: number; scope: number; type: number },
  ): this {
    const at = this.reserve(RTMSG_LEN);
    this.buf.set([m.family, m.dstLen, 0, 0, m.table, m.protocol, m.scope, m.type], at);
    return this;
  }

  /** An attribute with raw payload. */
  attr(type: number, payload: Uint8Array): this {
    const at = this.reserve(4 + payload.length);
    this.view.setUint16(at, 4 + payload.length, true);
    this.view.setUint16(at + 2, type, true);
    this.buf.set(payload, at + 4);
    return this;
  }

  u8(type: number, v: number): this {
    return this.attr(type, Uint8Array.of(v));
  }

  u32(type: number, v: number): this {
    const p = new Uint8Array(4);
    new DataView(p.buffer).setUint32(0, v >>> 0, true);
    return this.attr(type, p);
  }

  /** A NUL-terminated string (IFLA_IFNAME, IFLA_INFO_KIND). */
  string(type: number, v: string): this {
    const b = encoder.encode(v);
    const p = new Uint8Array(b.length + 1);
    p.set(b);
    return this.attr(type, p);
  }

  /** A string without its NUL (IFLA_IFALIAS, IFLA_INFO_KIND: as `ip` sends them). */
  text(type: number, v: string): this {
    return this.attr(type, encoder.encode(v));
  }

  /** Opens a nested attribute. */
  nest(type: number): this {
    const at = this.reserve(4);
    this.view.setUint16(at + 2, type, true);
    this.open.push(at);
    return this;
  }

  /** Closes the innermost nest: its length covers everything added since. */
  end(): this {
    const at = this.open.pop();
    if (at === undefined) throw new Error("netlink: end() without nest()");
    this.view.setUint16(at, this.len - at, true);
    return this;
  }

  /** The finished message with its sequence number (and port id 0: the kernel). */
  finish(seq: number): Uint8Array {
    if (this.open.length > 0) throw new Error("netlink: unclosed nest");
    this.view.setUint32(0, this.len, true);
    this.view.setUint16(4, this.type, true);
    this.view.setUint16(6, this.flags, true);
    this.view.setUint32(8, seq >>> 0, true);
    this.view.setUint32(12, 0, true);
    return this.buf.slice(0, this.len);
  }
}

/** One message read from the socket. */
export interface Message {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  /** The bytes after the 16-byte header. */
  body: Uint8Array;
}

/** Splits a datagram into its messages. */
export function splitMessages(data: Uint8Array): Message[] {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const out: Message[] = [];
  let at = 0;
  while (at + NLMSG_HDRLEN <= data.length) {
    const len = view.getUint32(at, true);
    if (len < NLMSG_HDRLEN || at + len > data.length) break;
    out.push({
      type: view.getUint16(at + 4, true),
      flags: view.getUint16(at + 6, true),
      seq: view.getUint32(at + 8, true),
      pid: view.getUint32(at + 12, true),
      body: data.subarray(at + NLMSG_HDRLEN, at + len),
    });
    at += align(len);
  }
  return out;
}

/** Attributes by type (the last one wins, as in the kernel's nla_parse), with their payloads. */
export type Attrs = Map<number, Uint8Array>;

/** Parses the attributes in `data` (nested flag bits dropped from the type). */
export function parseAttrs(data: Uint8Array): Attrs {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const out: Attrs = new Map();
  let at = 0;
  while (at + 4 <= data.length) {
    const len = view.getUint16(at, true);
    if (len < 4 || at + len > data.length) break;
    out.set(view.getUint16(at + 2, true) & 0x3fff, data.subarray(at + 4, at + len));
    at += align(len);
  }
  return out;
}

/** A u32 attribute's value. */
export function attrU32(a: Uint8Array | undefined): number | undefined {
  if (!a || a.length < 4) return undefined;
  return new DataView(a.buffer, a.byteOffset, 4).getUint32(0, true);
}

/** A string attribute's value (up to its NUL). */
export function attrString(a: Uint8Array | undefined): string | undefined {
  if (!a) return undefined;
  const nul = a.indexOf(0);
  return decoder.decode(nul >= 0 ? a.subarray(0, nul) : a);
}

/** A MAC address as `aa:bb:cc:dd:ee:ff`. */
export function formatMac(a: Uint8Array): string {
  return hex(a, ":");
}

/** `aa:bb:cc:dd:ee:ff` → 6 bytes. */
export function parseMac(text: string): Uint8Array {
  const parts = text.split(":");
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) {
    throw new Error(`netlink: not a MAC address: ${JSON.stringify(text)}`);
  }
  return Uint8Array.from(parts, (p) => parseInt(p, 16));
}
