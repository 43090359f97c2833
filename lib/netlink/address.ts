/**
 * Address requests (RTM_NEWADDR, RTM_DELADDR, RTM_GETADDR) and the addresses the kernel answers with,
 * attributes in the order `ip addr ...` sends them.
 * @module
 */
import { broadcastOf, formatAddress, parsePrefix } from "./_addr.ts";
import {
  AF_INET,
  AF_INET6,
  AF_UNSPEC,
  attrString,
  attrU32,
  IFA_ADDRESS,
  IFA_BROADCAST,
  IFA_FLAGS,
  IFA_LABEL,
  IFA_LOCAL,
  IFADDRMSG_LEN,
  MessageBuilder,
  NLM_F_ACK,
  NLM_F_CREATE,
  NLM_F_DUMP,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  NLM_F_REQUEST,
  parseAttrs,
  RT_SCOPE_UNIVERSE,
  RTM_DELADDR,
  RTM_GETADDR,
  RTM_NEWADDR,
  SCOPE_NAMES,
} from "./_wire.ts";

/** An address on a link, as the kernel describes it. */
export interface AddressInfo {
  /** ifindex of the link. */
  index: number;
  family: 4 | 6;
  /** `10.0.0.2/24` */
  cidr: string;
  /** `10.0.0.2` */
  local: string;
  prefixLength: number;
  /** `global`, `link`, `host`, ... */
  scope: string;
  label?: string;
  /** IFA_FLAGS (or ifa_flags): permanent, nodad, ... */
  flags: number;
}

/** Parses an RTM_NEWADDR answer's body. */
export function parseAddress(body: Uint8Array): AddressInfo {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const family = body[0] === AF_INET6 ? 6 : 4;
  const a = parseAttrs(body.subarray(IFADDRMSG_LEN));
  const raw = a.get(IFA_LOCAL) ?? a.get(IFA_ADDRESS) ?? new Uint8Array(family === 4 ? 4 : 16);
  const local = formatAddress(raw);
  return {
    index: view.getUint32(4, true),
    family,
    cidr: `${local}/${body[1]}`,
    local,
    prefixLength: body[1],
    scope: SCOPE_NAMES[body[3]] ?? String(body[3]),
    label: attrString(a.get(IFA_LABEL)),
    flags: attrU32(a.get(IFA_FLAGS)) ?? body[2],
  };
}

/** An address to add, replace or delete. */
export interface AddressSpec {
  /** ifindex of the link. */
  index: number;
  /** `10.0.0.2/24` or `fd00::2/64`. */
  cidr: string;
  /** IPv4: also set the subnet's broadcast address (`broadcast +`). */
  broadcast?: boolean;
}

function build(type: number, flags: number, s: AddressSpec, withBroadcast: boolean): MessageBuilder {
  const p = parsePrefix(s.cidr);
  const m = new MessageBuilder(type, flags)
    .ifaddrmsg(p.family === 4 ? AF_INET : AF_INET6, p.length, 0, RT_SCOPE_UNIVERSE, s.index)
    .attr(IFA_LOCAL, p.bytes)
    .attr(IFA_ADDRESS, p.bytes);
  if (withBroadcast && s.broadcast && p.family === 4) m.attr(IFA_BROADCAST, broadcastOf(p));
  return m;
}

/** `ip addr add CIDR [broadcast +] dev IDX` (EEXIST when it is there). */
export function addAddress(s: AddressSpec): MessageBuilder {
  return build(RTM_NEWADDR, NLM_F_REQUEST | NLM_F_ACK | NLM_F_EXCL | NLM_F_CREATE, s, true);
}

/** `ip addr replace CIDR [broadcast +] dev IDX` (no error when it is there). */
export function replaceAddress(s: AddressSpec): MessageBuilder {
  return build(RTM_NEWADDR, NLM_F_REQUEST | NLM_F_ACK | NLM_F_REPLACE | NLM_F_CREATE, s, true);
}

/** `ip addr del CIDR dev IDX`. */
export function delAddress(s: AddressSpec): MessageBuilder {
  return build(RTM_DELADDR, NLM_F_REQUEST | NLM_F_ACK, s, false);
}

/** `ip addr show`: every address of the namespace (filter by ifindex on the answers). */
export function dumpAddresses(): MessageBuilder {
  return new MessageBuilder(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP).ifaddrmsg(AF_UNSPEC, 0, 0, 0, 0);
}
