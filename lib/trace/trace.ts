/**
 * Follow one packet: `cnilab trace`. The path from a pod (or namespace, or the host) to an address is
 * computed from the topology `cnilab show` reads; a tcpdump runs on every interface of it, inside that
 * interface's namespace; one probe is sent, the answer awaited, the captures stopped; the frames become a
 * hop table (who asked ARP and who answered, which port the bridge forwarded to and why, where NAT
 * rewrote the source), and when the packet dies, the cause found where it was last seen.
 *
 * Only loopback and addresses inside namespaces cnilab made may be traced: anything else is refused before
 * a packet is sent ({@link TraceRefused}).
 * @module
 */
import { writeFileSync } from "node:fs";
import process from "node:process";
import { addr, commands, ip } from "../iproute2/mod.ts";
import { MARK_PREFIX, Owner } from "../ownership/mod.ts";
import { run } from "../shell/mod.ts";
import { analyze, answered, type ProbeMatch } from "./_analyze.ts";
import { type Capture, framesOf, startCapture, stopCaptures } from "./_capture.ts";
import {
  conntrackEntry,
  type DropRule,
  dropRules,
  fdb,
  grownDrops,
  natSource,
  nsSysctl,
  portStates,
} from "./_evidence.ts";
import { allowedDestination, allowedSource, cnilabNamespaces, TraceRefused } from "./_guard.ts";
import { type Frame, pcapng } from "./_packet.ts";
import { planPath, routeGet } from "./_path.ts";
import type { HopEvent, PathHop, Probe, TraceCause, TraceEndpoint, TraceReport } from "./_types.ts";
import { hex } from "../util/mod.ts";

export type * from "./_types.ts";
export { TraceRefused } from "./_guard.ts";
export { type RenderOptions, renderTrace } from "./_render.ts";
export { pcapngBlocks } from "./_packet.ts";
export { type Capture, startCapture, stopCaptures } from "./_capture.ts";

/** Ctrl-C (or SIGTERM) during a trace: the captures were stopped and everything removed, then this. */
export class TraceInterrupted extends Error {
  constructor(readonly signal: string) {
    super(`interrupted by ${signal}: captures stopped, nothing left behind`);
    this.name = "TraceInterrupted";
  }
}

/** Where a trace starts or ends, before it is resolved. */
export interface EndpointSpec {
  /** `host` or a network namespace name. */
  ns?: string;
  /** An IPv4 address (a destination). */
  address?: string;
  /** The pod's `namespace/name`, for labels. */
  pod?: string;
  /** What the user typed. */
  spec?: string;
}

/** Options of {@link trace}. */
export interface TraceOptions {
  from: EndpointSpec;
  /** An address, or a namespace/pod (its eth0 address). */
  to: EndpointSpec | string;
  /** @default { protocol: "icmp" } */
  probe?: Probe;
  /** Also write the frames as one pcapng file, one interface per hop. */
  pcap?: string;
  /** How long to wait for the answer, ms. @default 1000 */
  waitMs?: number;
}

const where = (ns: string) => (ns === "host" ? [] : ["nsenter", `--net=/var/run/netns/${ns}`, "--"]);

function hexBytes(n: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(n));
}

async function firstAddress(ns: string): Promise<string> {
  const all = (await addr.list({ netns: ns === "host" ? undefined : ns, family: 4 }))
    .filter((a) => a.dev !== "lo" && a.scope === "global");
  const eth0 = all.find((a) => a.dev === "eth0") ?? all[0];
  if (!eth0) throw new TraceRefused(`namespace ${ns} has no IPv4 address to trace to`);
  return eth0.local;
}

async function resolveDestination(to: EndpointSpec | string, owned: Set<string>): Promise<TraceEndpoint> {
  const spec = typeof to === "string" ? { address: to, spec: to } : to;
  if (spec.address) {
    const home = await allowedDestination(spec.address, owned);
    return {
      spec: spec.spec ?? spec.address,
      ns: home.loopback ? "" : home.ns,
      pod: spec.pod,
      address: spec.address,
    };
  }
  if (!spec.ns) throw new TraceRefused("no destination");
  await allowedSource(spec.ns, owned); // the same rule: a namespace cnilab made
  const address = await firstAddress(spec.ns);
  const home = await allowedDestination(address, owned);
  return { spec: spec.spec ?? spec.ns, ns: home.ns, pod: spec.pod, address };
}

function probeArgv(
  ns: string,
  probe: Probe,
  dst: string,
  marker: Uint8Array,
  waitMs: number,
): {
  argv: string[];
  stdin?: string;
} {
  const payload = hex(marker);
  const wait = String(Math.max(1, Math.round(waitMs / 1000)));
  if (probe.protocol === "icmp") {
    return { argv: [...where(ns), "ping", "-n", "-c", "1", "-W", wait, "-p", payload, dst] };
  }
  if (probe.protocol === "udp") {
    // one datagram from bash's /dev/udp (busybox nc has no UDP here); its source port is learnt from the capture
    const send = 'printf "%s\\n" "$0" > "/dev/udp/$1/$2"';
    return { argv: [...where(ns), "bash", "-c", send, udpText(marker), dst, String(probe.port)] };
  }
  // (busybox nc's -p does not set the source port of a connection: it is learnt from the SYN)
  const nc = ["busybox", "nc", "-w", wait, dst, String(probe.port)];
  return { argv: [...where(ns), "timeout", String(waitMs / 1000 + 0.5), ...nc] };
}

function udpText(marker: Uint8Array): string {
  return `cnilab-trace ${hex(marker)}`;
}

/** ARP must show: the source forgets its neighbour entry for the first next hop (a cache the kernel refills). */
async function forgetNeighbour(ns: string, dev: string, address: string): Promise<void> {
  await ip(commands.neighFlush(dev, address), {
    ...(ns === "host" ? {} : { netns: ns }),
    check: false,
    purpose: "read",
  });
}

/**
 * Traces one packet. Resolves to the report (a packet that died is a report too: `outcome.cause`); throws
 * {@link TraceRefused} before anything is sent when an end is not allowed.
 */
export async function trace(opts: TraceOptions): Promise<TraceReport> {
  const started = performance.now();
  const probe: Probe = opts.probe ?? { protocol: "icmp" };
  const waitMs = opts.waitMs ?? 1000;
  const fromNs = opts.from.ns ?? "host";
  const phases: Record<string, number> = {};
  let mark = started;
  const phase = (name: string) => {
    const now = performance.now();
    phases[name] = Math.round((phases[name] ?? 0) + now - mark);
    mark = now;
  };
  const namespaces = await cnilabNamespaces();
  await allowedSource(fromNs, namespaces);
  const to = await resolveDestination(opts.to, namespaces);
  phase("guard");
  const plan = await planPath(fromNs, to.address, namespaces);
  phase("path");
  const from: TraceEndpoint = {
    spec: opts.from.spec ?? fromNs,
    ns: fromNs,
    pod: opts.from.pod,
    address: plan.source ?? "",
  };
  if (to.ns === "") to.ns = fromNs; // loopback: the source's own
  const labels = new Map<string, string>([["host", "host"]]);
  if (from.pod) labels.set(from.ns, from.pod.split("/").pop()!);
  if (to.pod) labels.set(to.ns, to.pod.split("/").pop()!);
  const label = (ns: string) => labels.get(ns) ?? (ns.length > 16 ? `${ns.slice(0, 12)}…` : ns);

  const marker = hexBytes(16);
  const arpAddresses = new Set<string>([to.address, ...(plan.source ? [plan.source] : [])]);
  for (const h of plan.hops) for (const a of h.addresses) arpAddresses.add(a.split("/")[0]);
  const match: ProbeMatch = {
    probe,
    marker: probe.protocol === "udp" ? new TextEncoder().encode(udpText(marker)) : marker,
    sport: 0,
    source: plan.source,
    arpAddresses,
  };
  const filter = probe.protocol === "icmp"
    ? "arp or icmp"
    : `arp or icmp or ${probe.protocol} port ${probe.port}`;

  // the namespaces whose firewall may act: every namespace on the path
  const pathNs = [...new Set(plan.hops.map((h) => h.ns))];
  const owner = await Owner.begin("trace", `cnilab trace ${from.spec} ${to.spec}`);
  const caps: Capture[] = [];
  let interrupted: string | undefined;
  const onSignal = (sig: string) => {
    interrupted = sig;
    for (const c of caps) c.child.kill("SIGKILL");
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  let probeCode = -1;
  const framesByHop = new Map<number, Frame[]>();
  const dropsBefore = new Map<string, DropRule[]>();
  const dropsAfter = new Map<string, DropRule[]>();
  try {
    for (const ns of pathNs) dropsBefore.set(ns, await dropRules(ns));
    if (plan.hops.length > 0) {
      const source = plan.hops[0];
      // only in a namespace cnilab made, or on a host link it marked
      const ours = fromNs !== "host" ||
        plan.links.get("host")?.find((l) => l.name === source.ifname)?.alias?.startsWith(MARK_PREFIX);
      if (plan.firstNextHop && source.role !== "loopback" && ours) {
        await forgetNeighbour(fromNs, source.ifname, plan.firstNextHop);
      }
      const capturable = plan.hops.filter((h) => h.up);
      for (const h of capturable) caps.push(await startCapture(owner, h.ns, h.ifname, filter));
      phase("evidence");
      await Promise.all(caps.map((c) => c.ready));
      phase("captures");
      const p = probeArgv(fromNs, probe, to.address, marker, waitMs);
      const sentAt = performance.now();
      probeCode = (await run(p.argv, { stdin: p.stdin, check: false, purpose: "read" })).code;
      // ping and nc wait for their answer; a datagram's sender does not: watch the source's capture
      const sourceCap = caps.find((c) => c.ns === source.ns && c.ifname === source.ifname);
      if (probe.protocol === "udp" && sourceCap) {
        while (performance.now() - sentAt < waitMs && !answered(framesOf(sourceCap), match)) {
          await new Promise((r) => setTimeout(r, 5));
        }
      }
      // immediate mode hands each frame to tcpdump at once; give the last one a moment to be written
      await new Promise((r) => setTimeout(r, 30));
    }
  } catch (e) {
    if (!interrupted) throw e; // a capture killed by Ctrl-C fails its start: that is the interruption
  } finally {
    phase("probe");
    await stopCaptures(caps);
    phase("captures");
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await owner.release();
  }
  if (interrupted) throw new TraceInterrupted(interrupted);
  for (const c of caps) {
    const hop = plan.hops.find((h) => h.ns === c.ns && h.ifname === c.ifname)!;
    framesByHop.set(hop.hop, framesOf(c));
  }
  for (const ns of pathNs) dropsAfter.set(ns, await dropRules(ns));

  const fdbs = new Map<string, Map<string, string>>();
  for (const h of plan.hops.filter((h) => h.kind === "bridge")) {
    fdbs.set(`${h.ns}/${h.ifname}`, await fdb(h.ns, h.ifname));
  }
  const events = analyze({
    path: plan.hops,
    frames: framesByHop,
    match,
    links: plan.links,
    fdb: fdbs,
    label,
  });

  const first = plan.hops[0];
  const last = plan.hops.at(-1);
  const atSource = (e: HopEvent) => first && e.hop === first.hop;
  const requestOut = events.find((e) => e.direction === "request" && atSource(e));
  const replyIn = events.findLast((e) => e.direction === "reply" && atSource(e));
  const replied = first?.role === "loopback" ? probeCode === 0 : replyIn !== undefined;
  const delivered = plan.complete && last !== undefined &&
    events.some((e) => e.direction === "request" && e.hop === last.hop && !e.inferred);
  const report: TraceReport = {
    version: 1,
    from,
    to,
    probe,
    path: plan.hops,
    events,
    outcome: {
      delivered: delivered || (first?.role === "loopback" && probeCode === 0),
      replied,
      rttUs: requestOut && replyIn ? replyIn.timeUs - requestOut.timeUs : undefined,
    },
    capture: { tool: "tcpdump", interfaces: caps.length },
    durationMs: 0,
    phasesMs: {},
  };

  // NAT: the source seen leaving differs from the one arriving; conntrack in the router says so too
  const natEvent = events.find((e) => e.direction === "request" && e.action.includes("NAT: source"));
  if (natEvent && from.address) {
    for (const ns of plan.routers) {
      const entry = await conntrackEntry(ns, from.address, to.address);
      if (entry) {
        report.nat = { ns, from: from.address, to: natSource(entry) ?? natEvent.ipSrc, conntrack: entry };
        natEvent.action += ` (conntrack in ${label(ns)})`;
        break;
      }
    }
    report.nat ??= { ns: natEvent.ns, from: from.address, to: natEvent.ipSrc };
  }

  if (!replied) {
    // the request, or while it waited for ARP, the question it asked
    let seen = events.filter((e) => e.direction === "request" && !e.inferred);
    if (seen.length === 0) {
      seen = events.filter((e) =>
        e.direction === "arp" && !e.inferred && e.summary.startsWith("ARP who-has")
      );
    }
    const lastHop = seen.length ? Math.max(...seen.map((e) => e.hop)) : undefined;
    const lastSeen = lastHop ? plan.hops.find((h) => h.hop === lastHop)! : undefined;
    if (lastSeen) report.outcome.lastSeen = { hop: lastSeen.hop, ns: lastSeen.ns, ifname: lastSeen.ifname };
    report.outcome.cause = await diagnose(plan, events, dropsBefore, dropsAfter, from, to, lastSeen, label);
  }
  if (opts.pcap) {
    const ifaces = plan.hops.map((h) => ({
      name: `${h.ns}/${h.ifname}`,
      frames: framesByHop.get(h.hop) ?? [],
    }));
    writeFileSync(opts.pcap, pcapng(ifaces));
  }
  phase("evidence");
  report.phasesMs = phases;
  report.durationMs = Math.round(performance.now() - started);
  return report;
}

async function diagnose(
  plan: Awaited<ReturnType<typeof planPath>>,
  events: HopEvent[],
  dropsBefore: Map<string, DropRule[]>,
  dropsAfter: Map<string, DropRule[]>,
  from: TraceEndpoint,
  to: TraceEndpoint,
  lastSeen: PathHop | undefined,
  label: (ns: string) => string,
): Promise<TraceCause> {
  // 1. an interface of the path that is down (a down eth0 also takes its routes with it)
  const down = plan.hops.find((h) => !h.up);
  if (down) {
    return {
      kind: "interface-down",
      ns: down.ns,
      ifname: down.ifname,
      detail: `${down.ifname} in ${label(down.ns)} is down (ip link set ${down.ifname} up)`,
    };
  }
  if (plan.stop) {
    const s = plan.stop;
    if (s.kind === "no-route") {
      const downLink = plan.topology.namespaces.find((n) => n.name === s.ns)?.links.find((l) =>
        !l.up && l.name !== "lo"
      );
      if (downLink) {
        return {
          kind: "interface-down",
          ns: s.ns,
          ifname: downLink.name,
          detail: `${downLink.name} in ${label(s.ns)} is down, and its routes with it: ${s.detail}`,
        };
      }
      return { kind: "no-route", ns: s.ns, detail: s.detail };
    }
    if (s.kind === "not-forwarded") {
      const fwd = await nsSysctl(s.ns, "net/ipv4/ip_forward");
      return {
        kind: fwd === "0" ? "not-forwarded" : "no-route",
        ns: s.ns,
        detail: fwd === "0" ? `${label(s.ns)} does not forward: net.ipv4.ip_forward = 0` : s.detail,
      };
    }
    if (s.kind === "no-bridge-port") {
      return { kind: "not-forwarded-by-bridge", ns: s.ns, ifname: s.ifname, detail: s.detail };
    }
    return { kind: "unknown", ns: s.ns, ifname: s.ifname, detail: s.detail };
  }
  // 2. a firewall rule whose drop counter grew while the probe ran
  for (const [ns, before] of dropsBefore) {
    const grown = await grownDrops(ns, before, dropsAfter.get(ns) ?? []);
    if (grown.length > 0) {
      const d = grown[0];
      return {
        kind: "dropped-by-firewall",
        ns,
        detail: `dropped in ${label(ns)} by ${d.family} ${d.table} ${d.chain} rule ${d.handle}: ${
          d.text || "drop"
        } (counter ${d.packets} packets)`,
        rule: {
          family: d.family,
          table: d.table,
          chain: d.chain,
          handle: d.handle,
          text: d.text,
          packets: d.packets,
        },
      };
    }
  }
  // 3. into a bridge and not out of it: seen on the port it came in by, not on the one the path goes out by
  for (const [i, h] of plan.hops.entries()) {
    if (h.kind !== "bridge" || i === 0) continue;
    const inPort = plan.hops[i - 1];
    const outPort = plan.hops[i + 1];
    if (!outPort || outPort.role !== "bridge-port" || inPort.master !== h.ifname) continue;
    // the request, or the ARP question asked from this side of the bridge (not one the far side asks back)
    const before = new Set(plan.hops.slice(0, i).flatMap((x) => x.addresses.map((a) => a.split("/")[0])));
    const forward = (e: HopEvent) =>
      !e.inferred && (e.direction === "request" ||
        (e.direction === "arp" && e.summary.startsWith("ARP who-has") && before.has(e.ipSrc)));
    const cameIn = events.some((e) => forward(e) && e.hop === inPort.hop);
    const wentOut = events.some((e) => forward(e) && e.hop === outPort.hop);
    if (cameIn && !wentOut) {
      const state = (await portStates(h.ns)).get(outPort.ifname);
      return {
        kind: "not-forwarded-by-bridge",
        ns: h.ns,
        ifname: h.ifname,
        detail: `${h.ifname} took it in on ${inPort.ifname} and never sent it out of ${outPort.ifname}` +
          (state && state !== "forwarding" ? ` (port state: ${state})` : ""),
      };
    }
  }
  // 4. ARP asked and never answered
  const arp = events.filter((e) => e.direction === "arp");
  const asked = [...new Set(arp.filter((e) => e.summary.startsWith("ARP who-has")).map((e) => e.ipDst))];
  for (const ip of asked) {
    const answered = arp.some((e) => e.summary.startsWith(`ARP reply ${ip} `));
    if (!answered) {
      const holder = plan.hops.find((h) => h.addresses.some((a) => a.split("/")[0] === ip));
      const times = new Set(
        arp.filter((e) => e.ipDst === ip && e.hop === plan.hops[0]?.hop).map((e) => e.timeUs),
      ).size;
      return {
        kind: "arp-unanswered",
        ns: holder?.ns ?? plan.hops[0].ns,
        ifname: holder?.ifname,
        detail: `ARP who-has ${ip} asked ${times || 1}× and never answered` +
          (holder
            ? ` (${ip} is on ${label(holder.ns)}/${holder.ifname})`
            : ` (no interface on the path holds ${ip})`),
      };
    }
  }
  // 5. delivered, but no way back
  const delivered = events.some((e) => e.direction === "request" && e.hop === plan.hops.at(-1)?.hop);
  if (delivered && to.ns && from.address) {
    const back = await routeGet(to.ns, from.address);
    if (!back.ok) {
      return {
        kind: "no-route",
        ns: to.ns,
        detail: `${label(to.ns)} got it but has no route back to ${from.address} (${back.error})`,
      };
    }
    return { kind: "no-reply", ns: to.ns, detail: `${label(to.ns)} got it and did not answer` };
  }
  const at = lastSeen ?? plan.hops[0];
  return {
    kind: "unknown",
    ns: at?.ns ?? from.ns,
    ifname: at?.ifname,
    detail: at ? `last seen on ${label(at.ns)}/${at.ifname}; no cause found there` : "nothing was seen",
  };
}
