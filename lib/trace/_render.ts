/**
 * The hop table for an 80-column terminal: each sighting takes two lines — hop, where, time and the IP
 * header (src → dst, TTL) on the first; the MAC header and what happened there on the second (wrapped).
 * @module
 */
import type { TraceReport } from "./_types.ts";

function wrap(text: string, indent: number, width: number): string[] {
  let first = width;
  const lead = /^ */.exec(text)![0];
  text = text.slice(lead.length);
  first -= lead.length;
  const lines: string[] = [];
  let line = "";
  let room = first;
  for (const word of text.split(" ")) {
    if (line && line.length + 1 + word.length > room) {
      lines.push(line);
      line = word;
      room = width - indent;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines.map((l, i) => (i === 0 ? lead + l : " ".repeat(indent) + l));
}

function clip(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n - 1)}…`;
}

/** Names a namespace briefly: the pod's name when the report knows it, `host`, or a shortened name. */
function labeller(r: TraceReport): (ns: string) => string {
  const names = new Map<string, string>([["host", "host"]]);
  if (r.from.pod) names.set(r.from.ns, r.from.pod.split("/").pop()!);
  if (r.to.pod) names.set(r.to.ns, r.to.pod.split("/").pop()!);
  return (ns) => names.get(ns) ?? (ns.length > 16 ? `${ns.slice(0, 12)}…` : ns);
}

/** Options of {@link renderTrace}. */
export interface RenderOptions {
  /** Columns to fit (a lab indents its notes by 2: 78). @default 80 */
  width?: number;
}

/** The trace as text: the path, the hop table, the outcome. */
export function renderTrace(r: TraceReport, opts: RenderOptions = {}): string {
  const WIDTH = Math.max(60, opts.width ?? 80);
  const label = labeller(r);
  const probe = r.probe.protocol === "icmp"
    ? "ICMP echo"
    : `${r.probe.protocol.toUpperCase()} port ${r.probe.port}`;
  const to = r.to.pod ? `${r.to.address} (${r.to.pod})` : r.to.address;
  const out: string[] = [
    ...wrap(`trace ${r.from.spec} (${r.from.address || "no source address"}) → ${to}, ${probe}`, 2, WIDTH),
    "path, from the kernel's routes and topology:",
  ];
  for (const h of r.path) {
    const what = h.kind === "bridge"
      ? `bridge ${h.addresses.join(" ")}`
      : h.master
      ? `port of ${h.master}`
      : h.addresses.join(" ");
    const state = h.up ? "" : " DOWN";
    out.push(
      clip(
        `  ${String(h.hop).padStart(2)} ${clip(label(h.ns), 16).padEnd(16)} ${
          h.ifname.padEnd(15)
        } ${what}${state}`,
        WIDTH,
      ),
    );
  }
  for (const ns of [...new Set(r.path.map((h) => h.ns))].filter((n) => label(n) !== n)) {
    out.push(clip(`     ${label(ns)} = ${ns}`, WIDTH));
  }
  if (r.path.length === 0) out.push("  (none: the packet cannot leave the source)");
  out.push("");
  if (r.events.length > 0) {
    out.push(" # namespace/interface        µs  src → dst (IP)                  ttl");
    out.push("   src → dst (MAC)                       what happened");
    for (const e of r.events) {
      const where = clip(`${label(e.ns)}/${e.ifname}`, 21).padEnd(21);
      const ips = clip(`${e.ipSrc} → ${e.ipDst}`, 31).padEnd(31);
      const ttl = e.ttl === undefined ? "  -" : String(e.ttl).padStart(3);
      const kind = e.direction === "arp" ? "ARP" : e.direction;
      out.push(
        `${String(e.hop).padStart(2)} ${where} ${String(e.timeUs).padStart(8)}  ${ips} ${ttl} ${kind}`
          .trimEnd(),
      );
      const what = `${e.summary}: ${e.action}`;
      out.push(...wrap(`   ${e.macSrc} → ${e.macDst}  ${what}`, 5, WIDTH));
    }
    out.push("");
  } else out.push("no packet of the trace was seen on the path", "");
  out.push(`${r.capture.interfaces} captures (${r.capture.tool}), ${r.durationMs} ms`);
  const o = r.outcome;
  if (o.replied) {
    out.push(...wrap(
      `✓ answered: delivered to ${label(r.to.ns)} and back${
        o.rttUs !== undefined ? ` in ${o.rttUs} µs` : ""
      }` +
        (r.nat ? `; NAT in ${label(r.nat.ns)} rewrote the source ${r.nat.from} → ${r.nat.to}` : ""),
      2,
      WIDTH,
    ));
  } else {
    const at = o.lastSeen
      ? `last seen on hop ${o.lastSeen.hop} (${label(o.lastSeen.ns)}/${o.lastSeen.ifname})`
      : "never seen on the path";
    out.push(...wrap(`✗ the packet died: ${at}`, 2, WIDTH));
    if (o.cause) out.push(...wrap(`  cause (${o.cause.kind}): ${o.cause.detail}`, 4, WIDTH));
  }
  return out.join("\n");
}
