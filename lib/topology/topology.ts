/**
 * The live topology of pod networking on this host, read from the kernel (never from what a lab intended):
 * named network namespaces with the processes holding them, their links and addresses and routes, bridges
 * with their ports, and veth pairs matched across namespaces. Rendered as text for the terminal and as a
 * Mermaid flowchart for handouts.
 * @module
 */
import { readFileSync } from "node:fs";
import { addr, type Address, type Link, link, netns, type Route, route } from "../iproute2/mod.ts";
import { wrap } from "../text/mod.ts";

/** A link as drawn: where it is, what it is, its addresses. */
export interface TopoLink {
  /** `host` or a namespace name. */
  ns: string;
  name: string;
  index: number;
  kind?: string;
  up: boolean;
  mtu: number;
  master?: string;
  addresses: string[];
  /** For a veth: the other end ("ns/name"), when it could be found. */
  peer?: string;
}

/** A namespace as drawn. */
export interface TopoNamespace {
  name: string;
  /** Processes in the namespace: PID and command name (`pause` for a holder). */
  processes: { pid: number; comm: string }[];
  /** The pod whose sandbox holds this namespace (from the sandbox's state), when it is one. */
  pod?: PodLabel;
  links: TopoLink[];
  routes: string[];
}

/** Everything `cnilab show` draws. */
export interface Topology {
  host: { links: TopoLink[]; routes: string[] };
  namespaces: TopoNamespace[];
}

/** Options for {@link readTopology}. */
export interface ReadOptions {
  /** Keep only namespaces whose name passes (default: all named namespaces). */
  namespaceFilter?: (name: string) => boolean;
  /** Also draw host links that are neither bridges, veths nor bridge ports (eth0, lo, …). */
  allHostLinks?: boolean;
  /** Only what one run owns (see {@link runScope}): its namespaces, its host links and their ports/peers. */
  scope?: Scope;
  /** The pods by netns name (from the sandbox runtime's state), to label their namespaces. */
  pods?: Map<string, PodLabel>;
}

/** What one cnilab run owns, by name (lib/cli/scope.ts reads it from the run's journal). */
export interface Scope {
  namespaces: Set<string>;
  /** Host links the run recorded (its bridges, …). */
  links: Set<string>;
}

/** The pod a namespace belongs to, as its sandbox's state names it. */
export interface PodLabel {
  namespace: string;
  name: string;
  sandboxId: string;
}

function comm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "?";
  }
}

function routeText(r: Route): string {
  return [r.dst, r.via ? `via ${r.via}` : "", r.dev ? `dev ${r.dev}` : ""].filter(Boolean).join(" ");
}

function toTopoLinks(ns: string, links: Link[], addrs: Address[]): TopoLink[] {
  return links.map((l) => ({
    ns,
    name: l.name,
    index: l.index,
    kind: l.kind,
    up: l.up,
    mtu: l.mtu,
    master: l.master,
    addresses: addrs.filter((a) => a.dev === l.name && a.scope !== "link").map((a) => a.cidr),
  }));
}

/** Reads the topology from the kernel. */
export async function readTopology(opts: ReadOptions = {}): Promise<Topology> {
  const hostLinksRaw = await link.list();
  const hostLinks = toTopoLinks("host", hostLinksRaw, await addr.list());
  const named = (await netns.list()).filter((n) =>
    (opts.namespaceFilter?.(n.name) ?? true) && (!opts.scope || opts.scope.namespaces.has(n.name))
  );
  const namespaces: TopoNamespace[] = [];
  const rawByNs = new Map<string, Link[]>();
  for (const n of named) {
    let links: Link[];
    try {
      links = await link.list({ netns: n.name });
    } catch {
      continue; // deleted while we looked
    }
    rawByNs.set(n.name, links);
    const pids = await netns.pids(n.name);
    const pod = opts.pods?.get(n.name);
    namespaces.push({
      name: n.name,
      processes: pids.map((pid) => ({ pid, comm: comm(pid) })),
      ...(pod ? { pod } : {}),
      links: toTopoLinks(n.name, links, await addr.list({ netns: n.name })),
      routes: (await route.list({ netns: n.name })).map(routeText),
    });
  }
  // veth pairs: a host veth names its peer by ifindex in the namespace with that netns id
  const nsById = new Map(named.filter((n) => n.id !== undefined).map((n) => [n.id!, n.name]));
  for (const [i, raw] of hostLinksRaw.entries()) {
    if (raw.kind !== "veth" || raw.peerIndex === undefined) continue;
    const peerNs = raw.peerNetnsId === undefined ? "host" : nsById.get(raw.peerNetnsId);
    if (!peerNs) continue;
    const peerLinks = peerNs === "host" ? hostLinksRaw : rawByNs.get(peerNs) ?? [];
    const peer = peerLinks.find((l) => l.index === raw.peerIndex);
    if (!peer) continue;
    hostLinks[i].peer = `${peerNs}/${peer.name}`;
    const target = peerNs === "host"
      ? hostLinks.find((l) => l.index === peer.index)
      : namespaces.find((n) => n.name === peerNs)?.links.find((l) => l.index === peer.index);
    if (target) target.peer = `host/${raw.name}`;
  }
  const scope = opts.scope;
  const inScope = (l: TopoLink): boolean =>
    !scope || scope.links.has(l.name) || (l.master !== undefined && scope.links.has(l.master)) ||
    (l.peer !== undefined && scope.namespaces.has(l.peer.split("/")[0]));
  const drawn = hostLinks.filter((l) =>
    (opts.allHostLinks || l.kind === "bridge" || l.kind === "veth" || l.master !== undefined) && inScope(l)
  );
  return { host: { links: drawn, routes: (await route.list()).map(routeText) }, namespaces };
}

// ---------------------------------------------------------------------------------------------------
// Views

/** A namespace name for people: a pod's `cni-<uuid>` cut to its first 8 hex digits. */
export function shortNs(name: string): string {
  return /^cni-[0-9a-f]{8}-/.test(name) ? name.slice(0, 12) : name;
}

function shortPeer(peer: string): string {
  const [ns, name] = peer.split("/");
  return `${shortNs(ns)}/${name}`;
}

function linkLabel(l: TopoLink): string {
  const kind = l.kind ? ` (${l.kind})` : "";
  const state = l.up ? "" : " DOWN";
  return `${l.name}${kind}${state}${l.addresses.length ? " " + l.addresses.join(", ") : ""}`;
}

/** How a namespace is named in a drawing: `pod default/web (cni-1a2b3c4d)` or `netns blue`. */
export function namespaceLabel(n: TopoNamespace, opts: { processes?: boolean } = {}): string {
  const base = n.pod
    ? `pod ${n.pod.namespace}/${n.pod.name} (${shortNs(n.name)})`
    : `netns ${shortNs(n.name)}`;
  if (!opts.processes) return base;
  const holders = n.processes.map((p) => `${p.comm} ${p.pid}`).join(", ") || "no process";
  return `${base}  [${holders}]`;
}

/** A node of a drawn tree. */
interface TreeNode {
  label: string;
  children: TreeNode[];
}

/** Draws a tree with the right glyphs (├─ for all but the last child, └─ for the last), wrapped. */
function drawTree(roots: TreeNode[], width: number): string[] {
  const lines: string[] = [];
  const walk = (nodes: TreeNode[], prefix: string) => {
    nodes.forEach((node, i) => {
      const last = i === nodes.length - 1;
      const head = prefix + (last ? "└─ " : "├─ ");
      const cont = prefix + (last ? "   " : "│  ") + (node.children.length ? "│  " : "   ");
      lines.push(wrap(node.label, width, head, cont));
      walk(node.children, prefix + (last ? "   " : "│  "));
    });
  };
  for (const root of roots) {
    lines.push(wrap(root.label, width, "", root.children.length ? "│  " : "   "));
    walk(root.children, "");
  }
  return lines;
}

/** The topology as a tree for a terminal, wrapped to `width` columns; processes only when asked. */
export function renderText(t: Topology, opts: { width?: number; processes?: boolean } = {}): string {
  const width = opts.width ?? 80;
  const peer = (l: TopoLink) => (l.peer ? `  ⇄ ${shortPeer(l.peer)}` : "");
  const host: TreeNode = { label: "host", children: [] };
  for (const br of t.host.links.filter((l) => l.kind === "bridge")) {
    host.children.push({
      label: linkLabel(br),
      children: t.host.links.filter((l) => l.master === br.name).map((port) => ({
        label: `port ${linkLabel(port)}${peer(port)}`,
        children: [],
      })),
    });
  }
  for (const l of t.host.links.filter((l) => l.kind !== "bridge" && !l.master)) {
    host.children.push({ label: `${linkLabel(l)}${peer(l)}`, children: [] });
  }
  const roots = [host];
  for (const n of t.namespaces) {
    roots.push({
      label: namespaceLabel(n, opts),
      children: [
        ...n.links.map((l) => ({ label: `${linkLabel(l)}${peer(l)}`, children: [] })),
        ...n.routes.map((r) => ({ label: `route ${r}`, children: [] })),
      ],
    });
  }
  const lines = drawTree(roots, width);
  return lines.join("\n");
}

function id(s: string): string {
  return s.replace(/[^A-Za-z0-9_]/g, "_");
}

function quote(s: string): string {
  return s.replaceAll('"', "#quot;");
}

/** The topology as a Mermaid flowchart: a subgraph per namespace, edges for bridge ports and veth pairs. */
export function renderMermaid(t: Topology, opts: { processes?: boolean } = {}): string {
  const out = ["flowchart LR"];
  const node = (l: TopoLink) =>
    `${id(`${l.ns}_${l.name}`)}["${quote(linkLabel(l).replace(/ \(/, "<br/>("))}"]`;
  out.push(`  subgraph host["host"]`);
  for (const l of t.host.links) out.push(`    ${node(l)}`);
  out.push("  end");
  for (const n of t.namespaces) {
    out.push(`  subgraph ${id(`ns_${n.name}`)}["${quote(namespaceLabel(n, opts))}"]`);
    for (const l of n.links.filter((l) => l.name !== "lo")) out.push(`    ${node(l)}`);
    out.push("  end");
  }
  for (const l of t.host.links.filter((l) => l.master)) {
    out.push(`  ${id(`host_${l.name}`)} --- ${id(`host_${l.master}`)}`);
  }
  const seen = new Set<string>();
  for (const l of [...t.host.links, ...t.namespaces.flatMap((n) => n.links)]) {
    if (!l.peer || l.ns !== "host") continue;
    const [pns, pname] = l.peer.split("/");
    const key = [`${l.ns}/${l.name}`, l.peer].sort().join("|");
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(`  ${id(`host_${l.name}`)} <-->|veth| ${id(`${pns}_${pname}`)}`);
  }
  return out.join("\n");
}
