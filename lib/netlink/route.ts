/**
 * Route requests (RTM_NEWROUTE, RTM_DELROUTE, RTM_GETROUTE) and the routes the kernel answers with,
 * attributes in the order `ip route ...` sends them.
 * @module
 */
import { formatAddress, networkOf, parseAddress, parsePrefix } from "./_addr.ts";
import {
  AF_INET,
  AF_INET6,
  attrU32,
  MessageBuilder,
  NLM_F_ACK,
  NLM_F_APPEND,
  NLM_F_CREATE,
  NLM_F_DUMP,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  NLM_F_REQUEST,
  parseAttrs,
  RT_SCOPE_LINK,
  RT_SCOPE_NOWHERE,
  RT_SCOPE_UNIVERSE,
  RT_TABLE_MAIN,
  RTA_DST,
  RTA_GATEWAY,
  RTA_METRICS,
  RTA_OIF,
  RTA_PREFSRC,
  RTA_PRIORITY,
  RTA_TABLE,
  RTAX_ADVMSS,
  RTAX_MTU,
  RTM_DELROUTE,
  RTM_GETROUTE,
  RTM_NEWROUTE,
  RTMSG_LEN,
  RTN_UNICAST,
  RTPROT_BOOT,
  SCOPE_NAMES,
} from "./_wire.ts";

/** A route as the kernel describes it. */
export interface RouteInfo {
  family: 4 | 6;
  /** `default` or `10.0.0.0/24` (`ip route` style). */
  dst: string;
  gateway?: string;
  /** ifindex of the output device. */
  oif?: number;
  table: number;
  /** `global`, `link`, `host` ... */
  scope: string;
  /** `kernel`, `boot`, `static`, or the number. */
  protocol: string;
  metric?: number;
  prefsrc?: string;
  /** rtm_type: 1 unicast, 2 local, 3 broadcast ... */
  type: number;
}

const PROTOCOLS: Record<number, string> = { 2: "kernel", 3: "boot", 4: "static", 16: "dhcp" };

/** Parses an RTM_NEWROUTE answer's body. */
export function parseRoute(body: Uint8Array): RouteInfo {
  const family = body[0] === AF_INET6 ? 6 : 4;
  const a = parseAttrs(body.subarray(RTMSG_LEN));
  const dst = a.get(RTA_DST);
  const gw = a.get(RTA_GATEWAY);
  const src = a.get(RTA_PREFSRC);
  return {
    family,
    dst: dst
      ? (body[1] === dst.length * 8 ? formatAddress(dst) : `${formatAddress(dst)}/${body[1]}`)
      : "default",
    gateway: gw ? formatAddress(gw) : undefined,
    oif: attrU32(a.get(RTA_OIF)),
    table: attrU32(a.get(RTA_TABLE)) ?? body[4],
    scope: SCOPE_NAMES[body[6]] ?? String(body[6]),
    protocol: PROTOCOLS[body[5]] ?? String(body[5]),
    metric: attrU32(a.get(RTA_PRIORITY)),
    prefsrc: src ? formatAddress(src) : undefined,
    type: body[7],
  };
}

/** A route to add, replace or delete. */
export interface RouteSpec {
  /** `10.0.0.0/24`, `0.0.0.0/0` or `default` (IPv4; `::/0` for IPv6). */
  dst: string;
  gateway?: string;
  /** ifindex of the output device. */
  index?: number;
  metric?: number;
  /** Routing table (default: main). */
  table?: number;
  /** Scope number (default as `ip` picks it: link without a gateway, else global). */
  scope?: number;
  mtu?: number;
  advmss?: number;
}

function build(type: number, flags: number, r: RouteSpec): MessageBuilder {
  const gw = r.gateway !== undefined ? parseAddress(r.gateway) : undefined;
  if (r.gateway !== undefined && !gw) throw new Error(`netlink: not a gateway address: ${r.gateway}`);
  const dst = r.dst === "default"
    ? parsePrefix(gw?.length === 16 ? "::/0" : "0.0.0.0/0")
    : parsePrefix(r.dst);
  const table = r.table ?? RT_TABLE_MAIN;
  const del = type === RTM_DELROUTE;
  // iproute2's defaults: a unicast route without a gateway is scope link, a deleted one matches any scope
  const scope = r.scope ?? (del ? RT_SCOPE_NOWHERE : gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK);
  const m = new MessageBuilder(type, flags).rtmsg({
    family: dst.family === 4 ? AF_INET : AF_INET6,
    dstLen: dst.length,
    table: table < 256 ? table : 0,
    protocol: del ? 0 : RTPROT_BOOT,
    scope,
    type: del ? 0 : RTN_UNICAST,
  });
  if (dst.length > 0) m.attr(RTA_DST, networkOf(dst));
  if (gw) m.attr(RTA_GATEWAY, gw);
  if (r.metric !== undefined) m.u32(RTA_PRIORITY, r.metric);
  if (table >= 256) m.u32(RTA_TABLE, table);
  if (r.index !== undefined) m.u32(RTA_OIF, r.index);
  if (r.mtu !== undefined || r.advmss !== undefined) {
    m.nest(RTA_METRICS);
    if (r.mtu !== undefined) m.u32(RTAX_MTU, r.mtu);
    if (r.advmss !== undefined) m.u32(RTAX_ADVMSS, r.advmss);
    m.end();
  }
  return m;
}

/** `ip route add` (EEXIST when that route is there). */
export function addRoute(r: RouteSpec): MessageBuilder {
  return build(RTM_NEWROUTE, NLM_F_REQUEST | NLM_F_ACK | NLM_F_EXCL | NLM_F_CREATE, r);
}

/** `ip route append` (another next hop for the same destination is fine). */
export function appendRoute(r: RouteSpec): MessageBuilder {
  return build(RTM_NEWROUTE, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_APPEND, r);
}

/** `ip route replace`. */
export function replaceRoute(r: RouteSpec): MessageBuilder {
  return build(RTM_NEWROUTE, NLM_F_REQUEST | NLM_F_ACK | NLM_F_REPLACE | NLM_F_CREATE, r);
}

/** `ip route del`. */
export function delRoute(r: RouteSpec): MessageBuilder {
  return build(RTM_DELROUTE, NLM_F_REQUEST | NLM_F_ACK, r);
}

/** `ip -4|-6 route show [table N]`: the routes of one family and table (main by default). */
export function dumpRoutes(family: 4 | 6, table = RT_TABLE_MAIN): MessageBuilder {
  return new MessageBuilder(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP)
    .rtmsg({ family: family === 4 ? AF_INET : AF_INET6, dstLen: 0, table: 0, protocol: 0, scope: 0, type: 0 })
    .u32(RTA_TABLE, table);
}
