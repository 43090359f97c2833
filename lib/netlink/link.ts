/**
 * Link requests (RTM_NEWLINK, RTM_SETLINK, RTM_DELLINK, RTM_GETLINK) and the link the kernel answers with.
 * Each builder puts its attributes in the order `ip link ...` sends them (tests/netlink/fixtures).
 * @module
 */
import {
  AF_BRIDGE,
  AF_UNSPEC,
  attrString,
  attrU32,
  formatMac,
  IFF_LOWER_UP,
  IFF_PROMISC,
  IFF_UP,
  IFINFOMSG_LEN,
  IFLA_ADDRESS,
  IFLA_BRPORT_MODE,
  IFLA_EXT_MASK,
  IFLA_IFALIAS,
  IFLA_IFNAME,
  IFLA_INFO_DATA,
  IFLA_INFO_KIND,
  IFLA_LINK,
  IFLA_LINK_NETNSID,
  IFLA_LINKINFO,
  IFLA_MASTER,
  IFLA_MTU,
  IFLA_NET_NS_FD,
  IFLA_OPERSTATE,
  IFLA_PROMISCUITY,
  IFLA_PROTINFO,
  IFLA_TXQLEN,
  MessageBuilder,
  NLA_F_NESTED,
  NLM_F_ACK,
  NLM_F_CREATE,
  NLM_F_DUMP,
  NLM_F_EXCL,
  NLM_F_REQUEST,
  OPERSTATES,
  parseAttrs,
  parseMac,
  RTM_DELLINK,
  RTM_GETLINK,
  RTM_NEWLINK,
  RTM_SETLINK,
  VETH_INFO_PEER,
} from "./_wire.ts";

/** AF_PACKET: the family `ip link show` asks links in. */
const AF_PACKET = 17;
/** RTEXT_FILTER_VF: what `ip link show` puts in IFLA_EXT_MASK. */
const RTEXT_FILTER_VF = 1;

/** A link as the kernel describes it. */
export interface LinkInfo {
  index: number;
  name: string;
  /** `bridge`, `veth`, ... (absent for `lo` and other plain devices). */
  kind?: string;
  /** Administratively up (IFF_UP). */
  up: boolean;
  /** Carrier (IFF_LOWER_UP). */
  lowerUp: boolean;
  /** The IFF_PROMISC flag, as `ip link` shows it. */
  promisc: boolean;
  /** The promiscuity counter (IFLA_PROMISCUITY). */
  promiscuity: number;
  /** `up`, `down`, `lowerlayerdown`, `unknown` ... (IFLA_OPERSTATE). */
  operstate: string;
  mtu: number;
  txqlen: number;
  mac?: string;
  /** The bridge's ifindex when this link is a port. */
  master?: number;
  /** IFLA_LINK: for a veth, the peer's ifindex (in the peer's namespace). */
  link?: number;
  /** Set when the peer is in another namespace (the id this namespace knows it by). */
  linkNetnsId?: number;
  alias?: string;
}

/** Parses an RTM_NEWLINK answer's body. */
export function parseLink(body: Uint8Array): LinkInfo {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const flags = view.getUint32(8, true);
  const a = parseAttrs(body.subarray(IFINFOMSG_LEN));
  const info = a.get(IFLA_LINKINFO);
  const mac = a.get(IFLA_ADDRESS);
  const oper = a.get(IFLA_OPERSTATE);
  const netnsId = a.get(IFLA_LINK_NETNSID);
  return {
    index: view.getInt32(4, true),
    name: attrString(a.get(IFLA_IFNAME)) ?? "",
    kind: info ? attrString(parseAttrs(info).get(IFLA_INFO_KIND)) : undefined,
    up: (flags & IFF_UP) !== 0,
    lowerUp: (flags & IFF_LOWER_UP) !== 0,
    promisc: (flags & IFF_PROMISC) !== 0,
    promiscuity: attrU32(a.get(IFLA_PROMISCUITY)) ?? 0,
    operstate: oper ? OPERSTATES[oper[0]] ?? "unknown" : "unknown",
    mtu: attrU32(a.get(IFLA_MTU)) ?? 0,
    txqlen: attrU32(a.get(IFLA_TXQLEN)) ?? 0,
    mac: mac && mac.length === 6 ? formatMac(mac) : undefined,
    master: attrU32(a.get(IFLA_MASTER)),
    link: attrU32(a.get(IFLA_LINK)),
    linkNetnsId: netnsId ? new DataView(netnsId.buffer, netnsId.byteOffset, 4).getInt32(0, true) : undefined,
    alias: attrString(a.get(IFLA_IFALIAS)),
  };
}

/** Attributes common to a new link and a veth peer. */
export interface LinkAttrs {
  name: string;
  mtu?: number;
  mac?: string;
  /** Transmit queue length (0: none, which is what the reference plugins' veths have). */
  txqlen?: number;
}

/** A bridge or a veth pair to create. */
export type NewLink =
  & LinkAttrs
  & { up?: boolean; master?: number }
  & (
    | { kind: "bridge" }
    | {
      kind: "veth";
      /** The other end; created directly in the namespace `netnsFd` refers to (IFLA_NET_NS_FD). */
      peer: LinkAttrs & { netnsFd?: number };
    }
  );

function putAttrs(m: MessageBuilder, l: LinkAttrs & { master?: number; netnsFd?: number }): void {
  if (l.txqlen !== undefined) m.u32(IFLA_TXQLEN, l.txqlen);
  if (l.mtu !== undefined) m.u32(IFLA_MTU, l.mtu);
  if (l.mac !== undefined) m.attr(IFLA_ADDRESS, parseMac(l.mac));
  if (l.master !== undefined) m.u32(IFLA_MASTER, l.master);
  if (l.netnsFd !== undefined) m.u32(IFLA_NET_NS_FD, l.netnsFd);
  m.string(IFLA_IFNAME, l.name);
}

/** `ip link add name NAME [txqueuelen N] [mtu N] [address MAC] [up] [master IDX] type bridge|veth peer ...`. */
export function newLink(l: NewLink): MessageBuilder {
  const m = new MessageBuilder(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK | NLM_F_EXCL | NLM_F_CREATE);
  m.ifinfomsg(AF_UNSPEC, 0, l.up ? IFF_UP : 0, l.up ? IFF_UP : 0);
  putAttrs(m, l);
  m.nest(IFLA_LINKINFO).text(IFLA_INFO_KIND, l.kind); // without its NUL, as `ip` sends it
  if (l.kind === "veth") {
    m.nest(IFLA_INFO_DATA).nest(VETH_INFO_PEER).ifinfomsg(AF_UNSPEC, 0, 0, 0);
    putAttrs(m, l.peer);
    m.end().end();
  }
  return m.end();
}

/** What to change on an existing link (one request; `ip link set dev X ...`). */
export interface LinkChange {
  up?: boolean;
  promisc?: boolean;
  mtu?: number;
  mac?: string;
  /** ifindex of the bridge to enslave to (0 releases it). */
  master?: number;
  alias?: string;
}

/** `ip link set dev IDX [up|down] [promisc on|off] [mtu N] [address MAC] [master IDX] [alias TEXT]`. */
export function setLink(index: number, c: LinkChange): MessageBuilder {
  const m = new MessageBuilder(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK);
  let flags = 0;
  let change = 0;
  if (c.up !== undefined) {
    change |= IFF_UP;
    if (c.up) flags |= IFF_UP;
  }
  if (c.promisc !== undefined) {
    change |= IFF_PROMISC;
    if (c.promisc) flags |= IFF_PROMISC;
  }
  m.ifinfomsg(AF_UNSPEC, index, flags, change);
  if (c.mtu !== undefined) m.u32(IFLA_MTU, c.mtu);
  if (c.mac !== undefined) m.attr(IFLA_ADDRESS, parseMac(c.mac));
  if (c.master !== undefined) m.u32(IFLA_MASTER, c.master);
  if (c.alias !== undefined) m.text(IFLA_IFALIAS, c.alias);
  return m;
}

/**
 * `bridge link set dev IDX hairpin on|off`: RTM_SETLINK in AF_BRIDGE with IFLA_PROTINFO/IFLA_BRPORT_MODE,
 * the request the reference's netlink.LinkSetHairpin makes too.
 */
export function setHairpin(index: number, on: boolean): MessageBuilder {
  return new MessageBuilder(RTM_SETLINK, NLM_F_REQUEST | NLM_F_ACK)
    .ifinfomsg(AF_BRIDGE, index, 0, 0)
    .nest(IFLA_PROTINFO | NLA_F_NESTED).u8(IFLA_BRPORT_MODE, on ? 1 : 0).end();
}

/** `ip link del dev IDX` (a veth's peer goes with it). */
export function delLink(index: number): MessageBuilder {
  return new MessageBuilder(RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK).ifinfomsg(AF_UNSPEC, index, 0, 0);
}

/** `ip link show dev NAME`: one link by name (the answer is the link, or ENODEV). */
export function getLink(name: string): MessageBuilder {
  return new MessageBuilder(RTM_GETLINK, NLM_F_REQUEST)
    .ifinfomsg(AF_PACKET, 0, 0, 0)
    .string(IFLA_IFNAME, name)
    .u32(IFLA_EXT_MASK, RTEXT_FILTER_VF);
}

/** `ip link show`: every link of the namespace (a dump). */
export function dumpLinks(): MessageBuilder {
  return new MessageBuilder(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP)
    .ifinfomsg(AF_PACKET, 0, 0, 0)
    .u32(IFLA_EXT_MASK, RTEXT_FILTER_VF);
}
