/**
 * From a snapshot to what the page draws: the filter (one run, pods only, everything), the graph's boxes,
 * nodes and edges, and the same topology as a list. Pure functions (no DOM), so a test can read them too.
 * @module
 */
import type { TopoLink, TopoNamespace, UiPod, UiSnapshot, UiTrace } from "../model.ts";

/** Which part of the topology to draw. */
export interface Filter {
  /** `pods`: only pods (cnilab's sandboxes and `cni-…` namespaces) and what connects them. */
  view: "all" | "pods";
  /** Only what this run's journal recorded (and the bridges its veths plug into). */
  run?: string;
}

/** Reads the filter from the page's query string (`?run=<id>`, `?view=pods`). */
export function filterFrom(search: string): Filter {
  const q = new URLSearchParams(search);
  return { view: q.get("view") === "pods" ? "pods" : "all", run: q.get("run") || undefined };
}

/** A box: the host or one network namespace. */
export interface Box {
  id: string;
  /** `host` or the namespace's name. */
  ns: string;
  /** What people call it: `host`, `default/web-1` for a pod, the namespace's name otherwise. */
  label: string;
  /** The namespace's name under a pod's label. */
  sublabel?: string;
  pod?: UiPod;
  processes: string[];
  links: TopoLink[];
  routes: string[];
}

/** An edge: a bridge port, or a veth pair. */
export interface Edge {
  id: string;
  kind: "port" | "veth";
  source: string;
  target: string;
}

/** What is drawn. */
export interface View {
  boxes: Box[];
  edges: Edge[];
}

/** The id of a link's node: `ns/name`. */
export function linkId(ns: string, name: string): string {
  return `${ns}/${name}`;
}

function isPodNs(name: string, pods: Map<string, UiPod>): boolean {
  return pods.has(name) || name.startsWith("cni-");
}

function processesOf(n: TopoNamespace, pod: UiPod | undefined): string[] {
  const procs = n.processes.map((p) => `${p.comm} ${p.pid}`);
  if (pod && pod.containers.length > 0) procs.push(`containers: ${pod.containers.join(", ")}`);
  return procs;
}

/** Builds the view of a snapshot under a filter. */
export function buildView(s: UiSnapshot, filter: Filter): View {
  const pods = new Map(s.pods.map((p) => [p.netns, p]));
  const run = filter.run ? s.runs.find((r) => r.id === filter.run) : undefined;
  let namespaces = s.topology.namespaces;
  if (filter.view === "pods") namespaces = namespaces.filter((n) => isPodNs(n.name, pods));
  if (filter.run) namespaces = namespaces.filter((n) => run?.netns.includes(n.name) ?? false);
  const shownNs = new Set(namespaces.map((n) => n.name));

  // host links: everything, or only what connects the namespaces drawn (their veths and those veths' bridges)
  let hostLinks = s.topology.host.links;
  if (filter.view === "pods" || filter.run) {
    const wanted = new Set<string>();
    for (const l of hostLinks) {
      const peerNs = l.peer?.split("/")[0];
      const mine = run?.links.includes(linkId("host", l.name)) ?? false;
      if ((peerNs && shownNs.has(peerNs)) || mine) {
        wanted.add(l.name);
        if (l.master) wanted.add(l.master);
      }
    }
    hostLinks = hostLinks.filter((l) => wanted.has(l.name));
  }
  const host: Box = {
    id: "box:host",
    ns: "host",
    label: "host",
    processes: [],
    links: hostLinks,
    routes: s.topology.host.routes,
  };
  const boxes: Box[] = [host];
  for (const n of namespaces) {
    const pod = pods.get(n.name);
    boxes.push({
      id: `box:${n.name}`,
      ns: n.name,
      label: pod ? `${pod.namespace}/${pod.name}` : n.name,
      sublabel: pod ? n.name : undefined,
      pod,
      processes: processesOf(n, pod),
      links: n.links,
      routes: n.routes,
    });
  }

  const drawn = new Set(boxes.flatMap((b) => b.links.map((l) => linkId(b.ns, l.name))));
  const edges: Edge[] = [];
  const seen = new Set<string>();
  for (const b of boxes) {
    for (const l of b.links) {
      const id = linkId(b.ns, l.name);
      if (l.master && drawn.has(linkId(b.ns, l.master))) {
        edges.push({ id: `port:${id}`, kind: "port", source: id, target: linkId(b.ns, l.master) });
      }
      if (l.peer && drawn.has(l.peer)) {
        const key = [id, l.peer].sort().join("|");
        if (seen.has(key)) continue;
        seen.add(key);
        edges.push({ id: `veth:${key}`, kind: "veth", source: id, target: l.peer });
      }
    }
  }
  return { boxes, edges };
}

/** A link's one-line description, as the list shows it. */
export function describeLink(l: TopoLink): string {
  const parts = [l.name];
  if (l.kind) parts.push(`(${l.kind})`);
  if (!l.up) parts.push("DOWN");
  if (l.addresses.length) parts.push(l.addresses.join(", "));
  if (l.peer) parts.push(`⇄ ${l.peer}`);
  return parts.join(" ");
}

/** The trace's hops as node ids, in time order. */
export function tracePath(t: UiTrace): string[] {
  return [...t.hops].sort((a, b) => a.us - b.us).map((h) => linkId(h.ns, h.iface));
}
