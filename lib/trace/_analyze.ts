/**
 * From frames to a hop table: which captured frames belong to the trace (the probe carries a random marker
 * in its payload, or its own source port), in what order each hop saw them, and what each hop did — ARP
 * asked and answered, a bridge's forwarding decision (its FDB), a router's TTL decrement, a NAT rewrite.
 * @module
 */
import type { Link } from "../iproute2/mod.ts";
import { decode, type Decoded, type Frame } from "./_packet.ts";
import type { HopEvent, PathHop, Probe } from "./_types.ts";

/** What identifies the trace's own packets. */
export interface ProbeMatch {
  probe: Probe;
  /** The bytes in an ICMP echo's payload (ping -p) or a UDP payload. */
  marker: Uint8Array;
  /** The probe's source port: 0 until the probe's first packet on the source's interface shows it. */
  sport: number;
  /** The source's address (the TCP probe's SYN comes from it). */
  source?: string;
  /** Addresses whose ARP belongs to the trace. */
  arpAddresses: Set<string>;
}

/** True when one of the frames is an answer to the probe (to stop waiting as soon as it arrives). */
export function answered(frames: Frame[], m: ProbeMatch): boolean {
  const copy = { ...m };
  return frames.some((f) => {
    const d = decode(f.data);
    return d !== undefined && classify(d, copy)?.direction === "reply";
  });
}

/** A frame seen on a hop, decoded and classified. */
interface Sighting {
  hop: PathHop;
  ts: bigint;
  frame: Frame;
  d: Decoded;
  direction: HopEvent["direction"];
  key: string;
  summary: string;
}

function contains(hay: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

const ICMP_UNREACH: Record<number, string> = {
  0: "net unreachable",
  1: "host unreachable",
  3: "port unreachable",
  10: "host administratively prohibited",
  13: "administratively prohibited",
};

function classify(
  d: Decoded,
  m: ProbeMatch,
): { direction: HopEvent["direction"]; key: string; summary: string } | undefined {
  if (d.arp) {
    const a = d.arp;
    if (!m.arpAddresses.has(a.targetIp) && !m.arpAddresses.has(a.senderIp)) return undefined;
    return {
      direction: "arp",
      key: `arp-${a.op}-${a.senderIp}-${a.targetIp}-${a.senderMac}`,
      summary: a.op === "request"
        ? `ARP who-has ${a.targetIp} tell ${a.senderIp}`
        : `ARP reply ${a.senderIp} is-at ${a.senderMac}`,
    };
  }
  const ip = d.ip;
  if (!ip) return undefined;
  const p = m.probe;
  if (ip.icmp) {
    const c = ip.icmp;
    if ((c.type === 8 || c.type === 0) && p.protocol === "icmp" && contains(c.payload, m.marker)) {
      const direction = c.type === 8 ? "request" : "reply";
      return {
        direction,
        key: `${direction}-${ip.id}-${c.seq}`,
        summary: `ICMP echo ${direction} id ${c.id} seq ${c.seq}`,
      };
    }
    if ((c.type === 3 || c.type === 11) && c.inner) {
      const i = c.inner;
      const ours = p.protocol === "icmp"
        ? i.protocol === 1
        : (i.protocol === (p.protocol === "tcp" ? 6 : 17) &&
          i.dport === p.port && i.sport === m.sport);
      if (!ours) return undefined;
      const what = c.type === 11 ? "time exceeded" : ICMP_UNREACH[c.code] ?? `unreachable code ${c.code}`;
      return { direction: "reply", key: `icmperr-${ip.id}`, summary: `ICMP ${what}` };
    }
    return undefined;
  }
  if (p.protocol === "tcp" && ip.tcp) {
    const t = ip.tcp;
    // the kernel picks the probe's source port: learn it from its SYN, the first one the source sends
    if (m.sport === 0 && t.dport === p.port && t.flags === "S" && ip.src === m.source) m.sport = t.sport;
    if (t.dport === p.port && t.sport === m.sport) {
      return {
        direction: "request",
        key: `request-${ip.id}-${t.flags}`,
        summary: `TCP ${t.sport} > ${t.dport} [${t.flags}]`,
      };
    }
    if (t.sport === p.port && t.dport === m.sport) {
      return {
        direction: "reply",
        key: `reply-${ip.id}-${t.flags}`,
        summary: `TCP ${t.sport} > ${t.dport} [${t.flags}]`,
      };
    }
  }
  if (p.protocol === "udp" && ip.udp) {
    const u = ip.udp;
    // bash's /dev/udp picks the source port: learn it from the first datagram carrying the marker
    if (m.sport === 0 && u.dport === p.port && contains(u.payload, m.marker)) m.sport = u.sport;
    if (u.dport === p.port && u.sport === m.sport) {
      return {
        direction: "request",
        key: `request-${ip.id}`,
        summary: `UDP ${u.sport} > ${u.dport} len ${u.payload.length}`,
      };
    }
    if (u.sport === p.port && u.dport === m.sport) {
      return {
        direction: "reply",
        key: `reply-${ip.id}`,
        summary: `UDP ${u.sport} > ${u.dport} len ${u.payload.length}`,
      };
    }
  }
  return undefined;
}

/** What the analysis knows besides the frames. */
export interface AnalysisContext {
  path: PathHop[];
  /** Frames per hop number (a hop that was not captured has none). */
  frames: Map<number, Frame[]>;
  match: ProbeMatch;
  /** Every link of the namespaces on the path, to say whose MAC answered. */
  links: Map<string, Link[]>;
  /** The FDB of each bridge on the path after the probe: `ns/bridge` → MAC → port. */
  fdb: Map<string, Map<string, string>>;
  /** Short names for namespaces (a pod's name), for actions. */
  label(ns: string): string;
}

/** The trace's sightings in time order, with what each hop did. */
export function analyze(ctx: AnalysisContext): HopEvent[] {
  const sightings: Sighting[] = [];
  for (const hop of ctx.path) {
    for (const frame of ctx.frames.get(hop.hop) ?? []) {
      const d = decode(frame.data);
      if (!d) continue;
      const c = classify(d, ctx.match);
      if (c) sightings.push({ hop, ts: frame.ts, frame, d, ...c });
    }
  }
  sightings.sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : a.hop.hop - b.hop.hop));
  if (sightings.length === 0) return [];
  const t0 = sightings[0].ts;
  const us = (ts: bigint) => Number((ts - t0) / 1000n);
  const owner = (mac: string) => {
    for (const [ns, links] of ctx.links) {
      const l = links.find((x) => x.mac === mac);
      if (l) return `${ctx.label(ns)}/${l.name}`;
    }
    return mac;
  };
  const byKey = new Map<string, Sighting[]>();
  for (const s of sightings) byKey.set(s.key, [...(byKey.get(s.key) ?? []), s]);

  const events: HopEvent[] = [];
  for (const s of sightings) {
    const group = byKey.get(s.key)!;
    const i = group.indexOf(s);
    const prev = group[i - 1];
    const ip = s.d.ip;
    const base: HopEvent = {
      hop: s.hop.hop,
      ns: s.hop.ns,
      ifname: s.hop.ifname,
      timeUs: us(s.ts),
      direction: s.direction,
      macSrc: s.d.macSrc,
      macDst: s.d.macDst,
      ipSrc: ip?.src ?? s.d.arp!.senderIp,
      ipDst: ip?.dst ?? s.d.arp!.targetIp,
      ttl: ip?.ttl,
      summary: s.summary,
      action: "",
    };
    const actions: string[] = [];
    if (!prev) {
      if (s.d.arp?.op === "request") actions.push(`asked by ${owner(s.d.macSrc)} (broadcast)`);
      else if (s.d.arp?.op === "reply") actions.push(`answered by ${owner(s.d.arp.senderMac)}`);
      else actions.push(s.direction === "request" ? "sent" : `answered by ${ctx.label(s.hop.ns)}`);
    } else {
      if (ip && prev.d.ip && prev.d.ip.src !== ip.src) {
        actions.push(`NAT: source ${prev.d.ip.src} → ${ip.src}`);
      }
      if (ip && prev.d.ip && prev.d.ip.dst !== ip.dst) actions.push(`NAT: dest ${prev.d.ip.dst} → ${ip.dst}`);
      if (ip && prev.d.ip && prev.d.ip.ttl !== ip.ttl) {
        actions.push(`routed by ${ctx.label(prev.hop.ns === s.hop.ns ? s.hop.ns : prev.hop.ns)}`);
      }
    }
    const master = s.hop.master;
    const onPort = (g: Sighting) => master !== undefined && g.hop.master === master && g.hop.ns === s.hop.ns;
    const prevPort = group.slice(0, i).reverse().find(onPort);
    const nextPort = group.slice(i + 1).find(onPort);
    const bridgeDev = (g: Sighting | undefined) =>
      g !== undefined && master !== undefined && g.hop.ns === s.hop.ns && g.hop.ifname === master;
    if (nextPort || (!prevPort && bridgeDev(group[i + 1]))) actions.push(`into bridge ${master}`);
    if (!prevPort && bridgeDev(prev)) actions.push(`out of bridge ${master}`);
    if (prevPort) {
      // the bridge forwarded it from prevPort's port to this one: say why, from its FDB (the bridge device
      // itself only receives what is flooded or addressed to the host, so no capture shows this decision)
      const fdb = ctx.fdb.get(`${s.hop.ns}/${master}`);
      const broadcast = s.d.macDst === "ff:ff:ff:ff:ff:ff";
      const why = broadcast
        ? "flooded: broadcast"
        : fdb?.get(s.d.macDst) === s.hop.ifname
        ? `FDB: ${s.d.macDst} on ${s.hop.ifname}`
        : "flooded: MAC not in FDB";
      const bridgeHop = ctx.path.find((h) => h.ns === s.hop.ns && h.ifname === master);
      events.push({
        ...base,
        hop: bridgeHop?.hop ?? s.hop.hop,
        ifname: master!,
        action: `forwarded to ${s.hop.ifname} (${why})`,
        inferred: true,
      });
      actions.push(`out of bridge ${master}`);
    }
    const target = s.d.arp ? s.d.arp.targetIp : base.ipDst;
    const holdsTarget = s.hop.addresses.some((a) => a.split("/")[0] === target);
    if (holdsTarget && (prev || s.direction !== "request")) {
      actions.push(s.d.arp ? `reached ${ctx.label(s.hop.ns)}` : `delivered to ${ctx.label(s.hop.ns)}`);
    } else if (prev && prev.hop.ns !== s.hop.ns && !nextPort && !bridgeDev(group[i + 1])) {
      actions.push(`arrived in ${ctx.label(s.hop.ns)}`);
    } else if (s.hop.kind === "bridge" && !holdsTarget && s.d.macDst === s.hop.mac) {
      actions.push("up to the host, which routes it");
    } else if (s.hop.kind === "bridge" && !holdsTarget && s.d.macDst === "ff:ff:ff:ff:ff:ff") {
      actions.push("the bridge's host side gets the broadcast too");
    }
    base.action = actions.join("; ") || "seen";
    events.push(base);
  }
  // a bridge's decision goes right before the sighting on the port it chose
  return events.sort((a, b) => a.timeUs - b.timeUs || Number(!!b.inferred) - Number(!!a.inferred));
}
