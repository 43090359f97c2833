/**
 * What a plugin asked the kernel, one line per request and its answer, in the spirit of `ip monitor`:
 *
 *   RTM_NEWLINK veth vethab12cd34 master cni0 up txqlen 0 peer eth0 txqlen 0 in netns fd 7 → ok
 *   [netns cni-1f2e] RTM_NEWADDR 10.250.1.2/24 brd 10.250.1.255 dev eth0 → ok
 *   RTM_NEWLINK bridge cni0 → File exists
 *
 * The line is decoded from the bytes that were sent (not from what the caller meant), so it shows what
 * the kernel was really asked. Lines go to the file named by CNILAB_NETLINK_TRACE (appended, so a runtime
 * can collect a whole CNI call, IPAM included) and to listeners registered with {@link onTrace}.
 * @module
 */
import { formatAddress } from "./_addr.ts";
import {
  AF_BRIDGE,
  attrString,
  attrU32,
  formatMac,
  IFA_BROADCAST,
  IFA_LOCAL,
  IFADDRMSG_LEN,
  IFF_PROMISC,
  IFF_UP,
  IFINFOMSG_LEN,
  IFLA_ADDRESS,
  IFLA_BRPORT_MODE,
  IFLA_IFALIAS,
  IFLA_IFNAME,
  IFLA_INFO_DATA,
  IFLA_INFO_KIND,
  IFLA_LINKINFO,
  IFLA_MASTER,
  IFLA_MTU,
  IFLA_NET_NS_FD,
  IFLA_PROTINFO,
  IFLA_TXQLEN,
  MESSAGE_NAMES,
  NLM_F_APPEND,
  NLM_F_CREATE,
  NLM_F_DUMP,
  NLM_F_REPLACE,
  parseAttrs,
  RTA_DST,
  RTA_GATEWAY,
  RTA_METRICS,
  RTA_OIF,
  RTA_PRIORITY,
  RTA_TABLE,
  RTAX_ADVMSS,
  RTAX_MTU,
  RTM_DELLINK,
  RTM_DELROUTE,
  RTM_GETADDR,
  RTM_GETLINK,
  RTM_GETROUTE,
  RTM_NEWADDR,
  RTM_NEWLINK,
  RTM_NEWROUTE,
  RTM_SETLINK,
  RTMSG_LEN,
  SCOPE_NAMES,
  VETH_INFO_PEER,
} from "./_wire.ts";

/** ifindex → name, for the requests that name links by index. */
export type IndexNames = ReadonlyMap<number, string>;

/** A link's attributes in the order `ip link add|set` takes them. */
function linkAttrs(a: Map<number, Uint8Array>, names: IndexNames): string[] {
  const out: string[] = [];
  const txq = attrU32(a.get(IFLA_TXQLEN));
  if (txq !== undefined) out.push(`txqlen ${txq}`);
  const mtu = attrU32(a.get(IFLA_MTU));
  if (mtu !== undefined) out.push(`mtu ${mtu}`);
  const mac = a.get(IFLA_ADDRESS);
  if (mac) out.push(`address ${formatMac(mac)}`);
  const master = attrU32(a.get(IFLA_MASTER));
  if (master !== undefined) {
    out.push(master === 0 ? "nomaster" : `master ${names.get(master) ?? `if${master}`}`);
  }
  const alias = a.get(IFLA_IFALIAS);
  if (alias) out.push(`alias ${JSON.stringify(attrString(alias))}`);
  const fd = attrU32(a.get(IFLA_NET_NS_FD));
  if (fd !== undefined) out.push(`in netns fd ${fd}`);
  return out;
}

function describeLink(type: number, flags: number, body: Uint8Array, names: IndexNames): string {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const index = view.getInt32(4, true);
  const ifFlags = view.getUint32(8, true);
  const change = view.getUint32(12, true);
  const a = parseAttrs(body.subarray(IFINFOMSG_LEN));
  const name = attrString(a.get(IFLA_IFNAME));
  const dev = name ?? names.get(index) ?? `if${index}`;
  if (type === RTM_GETLINK) return (flags & NLM_F_DUMP) === NLM_F_DUMP ? "dump" : `dev ${dev}`;
  if (type === RTM_DELLINK) return `dev ${dev}`;
  const parts: string[] = [];
  if (type === RTM_SETLINK && body[0] === AF_BRIDGE) {
    const prot = a.get(IFLA_PROTINFO);
    const mode = prot ? parseAttrs(prot).get(IFLA_BRPORT_MODE) : undefined;
    return `dev ${dev}${mode ? ` hairpin ${mode[0] ? "on" : "off"}` : ""}`;
  }
  const info = a.get(IFLA_LINKINFO);
  if (flags & NLM_F_CREATE && info) {
    const li = parseAttrs(info);
    parts.push(attrString(li.get(IFLA_INFO_KIND)) ?? "link", dev);
    const words = linkAttrs(a, names).filter((w) => !w.startsWith("in netns"));
    if (change & IFF_UP) {
      // where `ip` takes it: after the address, before master
      const at = words.findIndex((w) => w.startsWith("master") || w.startsWith("alias"));
      words.splice(at < 0 ? words.length : at, 0, ifFlags & IFF_UP ? "up" : "down");
    }
    parts.push(...words);
    const data = li.get(IFLA_INFO_DATA);
    const peer = data ? parseAttrs(data).get(VETH_INFO_PEER) : undefined;
    if (peer) {
      const pa = parseAttrs(peer.subarray(IFINFOMSG_LEN));
      parts.push("peer", attrString(pa.get(IFLA_IFNAME)) ?? "?", ...linkAttrs(pa, names));
    }
    return parts.join(" ");
  }
  parts.push("dev", dev);
  if (change & IFF_UP) parts.push(ifFlags & IFF_UP ? "up" : "down");
  if (change & IFF_PROMISC) parts.push(`promisc ${ifFlags & IFF_PROMISC ? "on" : "off"}`);
  parts.push(...linkAttrs(a, names));
  return parts.join(" ");
}

function describeAddress(type: number, body: Uint8Array, names: IndexNames): string {
  if (type === RTM_GETADDR) return "dump";
  const index = new DataView(body.buffer, body.byteOffset, body.byteLength).getUint32(4, true);
  const a = parseAttrs(body.subarray(IFADDRMSG_LEN));
  const local = a.get(IFA_LOCAL);
  const brd = a.get(IFA_BROADCAST);
  return [
    `${local ? formatAddress(local) : "?"}/${body[1]}`,
    ...(brd ? [`brd ${formatAddress(brd)}`] : []),
    `dev ${names.get(index) ?? `if${index}`}`,
  ].join(" ");
}

function describeRoute(type: number, body: Uint8Array, names: IndexNames): string {
  const a = parseAttrs(body.subarray(RTMSG_LEN));
  const table = attrU32(a.get(RTA_TABLE)) ?? body[4];
  if (type === RTM_GETROUTE) return `dump ${body[0] === 10 ? "inet6" : "inet"} table ${table}`;
  const dst = a.get(RTA_DST);
  const gw = a.get(RTA_GATEWAY);
  const oif = attrU32(a.get(RTA_OIF));
  const metric = attrU32(a.get(RTA_PRIORITY));
  const parts = [dst ? `${formatAddress(dst)}/${body[1]}` : "default"];
  if (gw) parts.push(`via ${formatAddress(gw)}`);
  if (oif !== undefined) parts.push(`dev ${names.get(oif) ?? `if${oif}`}`);
  if (metric !== undefined) parts.push(`metric ${metric}`);
  if (table !== 254 && table !== 0) parts.push(`table ${table}`);
  if (type !== RTM_DELROUTE && body[6] !== 0) parts.push(`scope ${SCOPE_NAMES[body[6]] ?? body[6]}`);
  const metrics = a.get(RTA_METRICS);
  if (metrics) {
    const m = parseAttrs(metrics);
    const mtu = attrU32(m.get(RTAX_MTU));
    const advmss = attrU32(m.get(RTAX_ADVMSS));
    if (mtu !== undefined) parts.push(`mtu ${mtu}`);
    if (advmss !== undefined) parts.push(`advmss ${advmss}`);
  }
  return parts.join(" ");
}

/** The words for a NEW request's flags: `replace`, `append` (EXCL|CREATE is the plain add). */
function verb(type: number, flags: number): string {
  if (type !== RTM_NEWADDR && type !== RTM_NEWROUTE) return "";
  if (flags & NLM_F_REPLACE) return "replace ";
  if (flags & NLM_F_APPEND) return "append ";
  return "";
}

/** One request, decoded: `RTM_NEWADDR 10.0.0.2/24 brd 10.0.0.255 dev eth0`. */
export function describeRequest(message: Uint8Array, names: IndexNames = new Map()): string {
  const view = new DataView(message.buffer, message.byteOffset, message.byteLength);
  const type = view.getUint16(4, true);
  const flags = view.getUint16(6, true);
  const body = message.subarray(16, view.getUint32(0, true));
  const name = MESSAGE_NAMES[type] ?? `type ${type}`;
  let what: string;
  if (type >= RTM_NEWLINK && type <= RTM_SETLINK) what = describeLink(type, flags, body, names);
  else if (type >= RTM_NEWADDR && type <= RTM_GETADDR) what = describeAddress(type, body, names);
  else if (type >= RTM_NEWROUTE && type <= RTM_GETROUTE) what = describeRoute(type, body, names);
  else what = `${body.length} bytes`;
  return `${name} ${verb(type, flags)}${what}`;
}

/**
 * The `ip` command a person would type for the same request, from its trace line (without the answer):
 * `[netns cni-1] RTM_NEWADDR 10.0.0.2/24 brd 10.0.0.255 dev eth0` →
 * `ip -n cni-1 addr add 10.0.0.2/24 broadcast 10.0.0.255 dev eth0`. A link created in another namespace
 * names it by its file (`netns cni-1`), where the request carried the descriptor.
 */
export function ipEquivalent(request: string, netnsName = "NETNS"): string {
  const m = request.match(/^(?:\[netns ([^\]]+)\] )?(RTM_[A-Z]+) (.*?)(?: → .*)?$/);
  if (!m) return "";
  const [, ns, type, rest] = m;
  // text for a person to read (what to type for the same change), never run: no argv, so not lib/iproute2's
  const ip = ns ? `ip -n ${ns}` : "ip";
  const words = rest.split(" ");
  const tx = (w: string) => w.replace(/\btxqlen\b/g, "txqueuelen");
  switch (type) {
    case "RTM_GETLINK":
      return rest === "dump" ? `${ip} link show` : `${ip} link show ${rest}`;
    case "RTM_DELLINK":
      return `${ip} link del ${rest}`;
    case "RTM_SETLINK":
      return `bridge${ns ? ` -n ${ns}` : ""} link set ${rest}`;
    case "RTM_NEWLINK": {
      if (words[0] === "dev") return `${ip} link set ${tx(rest)}`;
      const [kind, name, ...more] = words;
      const peerAt = more.indexOf("peer");
      const own = tx((peerAt < 0 ? more : more.slice(0, peerAt)).join(" "));
      let peer = "";
      if (peerAt >= 0) {
        const p = more.slice(peerAt + 1).join(" ").replace(/ ?in netns fd \d+/, ` netns ${netnsName}`);
        peer = ` peer name ${tx(p)}`;
      }
      return `${ip} link add name ${name}${own ? ` ${own}` : ""} type ${kind}${peer}`;
    }
    case "RTM_NEWADDR":
    case "RTM_DELADDR": {
      const verb = type === "RTM_DELADDR" ? "del" : words[0] === "replace" ? "replace" : "add";
      const args = (words[0] === "replace" ? words.slice(1) : words).join(" ").replace(
        /\bbrd\b/,
        "broadcast",
      );
      return `${ip} addr ${verb} ${args}`;
    }
    case "RTM_GETADDR":
      return `${ip} addr show`;
    case "RTM_NEWROUTE":
    case "RTM_DELROUTE": {
      const verb = type === "RTM_DELROUTE"
        ? "del"
        : words[0] === "replace" || words[0] === "append"
        ? words[0]
        : "add";
      const args = (verb === "replace" || verb === "append" ? words.slice(1) : words).join(" ");
      return `${ip} route ${verb} ${args}`;
    }
    case "RTM_GETROUTE": {
      const t = rest.match(/dump (inet6?) table (\d+)/);
      return `${ip} ${t?.[1] === "inet6" ? "-6" : "-4"} route show${
        t && t[2] !== "254" ? ` table ${t[2]}` : ""
      }`;
    }
  }
  return "";
}

type Listener = (line: string) => void;
const listeners = new Set<Listener>();
let file: string | undefined | null = null;
let append: ((path: string, text: string) => void) | undefined;

/** Calls `fn` with every trace line until the returned function is called. */
export function onTrace(fn: Listener): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** True when someone reads the trace (the CNILAB_NETLINK_TRACE file or a listener). */
export function tracing(): boolean {
  if (file === null) {
    const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env;
    file = env?.CNILAB_NETLINK_TRACE || undefined;
  }
  return file !== undefined || listeners.size > 0;
}

declare const require: (id: string) => unknown;

/** Writes one line (to the file, then to each listener). */
export function traceLine(line: string): void {
  if (!tracing()) return;
  if (file) {
    // loaded only when tracing: the untraced hot path imports nothing from node:*
    append ??= (globalThis as { Deno?: { writeTextFileSync(p: string, t: string, o: object): void } }).Deno
      ? (p, t) =>
        (globalThis as unknown as { Deno: { writeTextFileSync(p: string, t: string, o: object): void } }).Deno
          .writeTextFileSync(p, t, { append: true })
      : (require("node:fs") as { appendFileSync(p: string, t: string): void }).appendFileSync;
    append(file, line + "\n");
  }
  for (const fn of listeners) fn(line);
}
