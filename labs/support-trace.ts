/**
 * Labs follow a packet with `cnilab trace` (lib/trace) and check its hop sequence: which interfaces the
 * request crossed, in order, and whose eth0 answered ARP. The hop table goes into the narration (and so
 * into the handout).
 * @module
 */
import type { LabContext } from "../lib/lab/mod.ts";
import { renderTrace, trace, type TraceReport } from "../lib/trace/mod.ts";

/** One end of a traced path in a lab: a namespace (`host` or a pod's) and what to call it. */
export interface TraceEnd {
  ns: string;
  /** The pod's name, shown instead of its cni-<uuid> namespace. */
  name: string;
  /** The destination's address. */
  address?: string;
}

/** The request's sightings as `name/ifname`, in time order (a bridge's FDB decision marked as such). */
export function requestHops(r: TraceReport, names: Map<string, string>): string[] {
  return r.events.filter((e) => e.direction === "request").map((e) =>
    `${names.get(e.ns) ?? e.ns}/${e.ifname}${e.inferred ? " (FDB)" : ""}`
  );
}

/** Who answered the ARP question for `ip`: `name/ifname` where the reply was first seen. */
export function arpAnswerer(r: TraceReport, ip: string, names: Map<string, string>): string {
  const reply = r.events.find((e) => e.summary.startsWith(`ARP reply ${ip} `));
  return reply ? `${names.get(reply.ns) ?? reply.ns}/${reply.ifname}` : "no ARP reply";
}

/**
 * Traces one ping from `from` to `to`, shows the hop table, and checks that it was answered, that the
 * request took `expected` (names/interfaces in order) and that `to`'s eth0 answered ARP.
 */
export async function checkTrace<S>(
  ctx: LabContext<S>,
  from: TraceEnd,
  to: TraceEnd & { address: string },
  expected: string[],
): Promise<TraceReport> {
  const names = new Map([[from.ns, from.name], [to.ns, to.name]]);
  const r = await trace({
    from: { ns: from.ns, pod: from.name, spec: from.name },
    to: { address: to.address, pod: to.name, spec: to.name },
  });
  ctx.note(renderTrace(r, { width: 78 }));
  const label = `trace ${from.name} → ${to.name}`;
  ctx.expect(`${label}: answered`, r.outcome.replied, true);
  ctx.expect(`${label}: the request's hops, in order`, requestHops(r, names), expected);
  ctx.expect(
    `${label}: the ARP reply comes from ${to.name}'s eth0`,
    arpAnswerer(r, to.address, names),
    `${to.name}/eth0`,
  );
  return r;
}
