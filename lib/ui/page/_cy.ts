/// <reference lib="dom" />
/**
 * The graph itself: cytoscape with the page's style, and the nodes a view becomes (their labels and sizes;
 * a big graph collapsed to one box per namespace).
 * @module
 */
import cytoscape from "cytoscape";
import type { TopoLink } from "../model.ts";
import { $ } from "./_dom.ts";
import { type Box, linkId, type View } from "./graph.ts";

export const MONO = '"DejaVu Sans Mono", monospace';
export const cy = cytoscape({
  container: $("graph"),
  minZoom: 0.05,
  maxZoom: 2.5,
  style: [
    {
      selector: "node",
      style: {
        shape: "round-rectangle",
        width: "data(w)",
        height: "data(h)",
        label: "data(label)",
        "text-wrap": "wrap",
        "text-valign": "center",
        "text-halign": "center",
        "font-family": MONO,
        "font-size": 16,
        "min-zoomed-font-size": 7,
        color: "#111827",
        "background-color": "#ffffff",
        "border-width": 2,
        "border-color": "#64748b",
      },
    },
    {
      selector: "node.box",
      style: {
        "background-color": "#ecfdf5",
        "border-color": "#047857",
        "border-width": 3,
        padding: "20px",
        "text-valign": "top",
        "text-halign": "center",
        "text-margin-y": -6,
        "font-family": '"DejaVu Sans", sans-serif',
        "font-size": 19,
        "font-weight": "bold",
        color: "#065f46",
      },
    },
    {
      selector: "node.box.host",
      style: { "background-color": "#eff6ff", "border-color": "#1d4ed8", color: "#1e3a8a" },
    },
    {
      selector: "node.box.other",
      style: { "background-color": "#f8fafc", "border-color": "#64748b", color: "#334155" },
    },
    {
      selector: "node.bridge",
      style: { "background-color": "#dbeafe", "border-color": "#1d4ed8", "border-width": 3 },
    },
    { selector: "node.veth", style: { "border-color": "#c2410c" } },
    {
      selector: "node.procs",
      style: { "background-color": "#fef9c3", "border-color": "#a16207", "font-size": 14 },
    },
    { selector: "node.down", style: { "border-style": "dashed", color: "#6b7280" } },
    { selector: "node.fresh", style: { "border-color": "#16a34a", "border-width": 6 } },
    { selector: "node.gone", style: { "border-style": "dashed" } },
    { selector: "node.unplaced", style: { visibility: "hidden" } },
    { selector: "node:selected", style: { "overlay-color": "#1d4ed8", "overlay-opacity": 0.12 } },
    {
      selector: "edge",
      style: { width: 3, "line-color": "#94a3b8", "curve-style": "bezier" },
    },
    {
      selector: "edge.veth",
      style: {
        width: 5,
        "line-color": "#c2410c",
        label: "veth",
        "font-size": 13,
        color: "#9a3412",
        "text-background-color": "#f8fafc",
        "text-background-opacity": 1,
        "text-background-padding": "2px",
      },
    },
    // a big graph's edges: straight lines, no label (at its zoom a label is too small to read anyway)
    { selector: "edge.fast", style: { "curve-style": "haystack", "haystack-radius": 0, label: "" } },
    // a big graph zoomed out so far that no label could be read: none is measured or drawn (drawBig)
    { selector: "node.tiny", style: { label: "" } },
    { selector: "edge.trace", style: { "line-color": "#dc2626", width: 8, "z-index": 10 } },
    {
      selector: "node.trace",
      style: {
        label: "data(traceLabel)",
        "border-color": "#dc2626",
        "border-width": 5,
        "background-color": "#fee2e2",
      },
    },
  ],
});

export function textSize(lines: string[], font = 16): { w: number; h: number } {
  const chars = Math.max(...lines.map((l) => [...l].length), 4);
  return { w: Math.ceil(chars * font * 0.61) + 26, h: lines.length * Math.round(font * 1.3) + 18 };
}

export function linkLines(l: TopoLink): string[] {
  const head = l.kind ? `${l.name} (${l.kind})` : l.name;
  return [l.up ? head : `${head} DOWN`, ...l.addresses];
}

export interface NodeSpec {
  id: string;
  parent?: string;
  label: string;
  w: number;
  h: number;
  classes: string;
  traceLabel?: string;
}

export function graphLinks(b: Box): TopoLink[] {
  return b.links.filter((l) => l.name !== "lo");
}

export function nodesOf(view: View): NodeSpec[] {
  const out: NodeSpec[] = [];
  for (const b of view.boxes) {
    const kind = b.ns === "host" ? "host" : b.pod || b.ns.startsWith("cni-") ? "pod" : "other";
    const label = b.sublabel
      ? `${b.label}  ·  ${short(b.sublabel)}`
      : b.ns === "host"
      ? "host"
      : `netns ${short(b.label)}`;
    out.push({ id: b.id, label, w: 0, h: 0, classes: `box ${kind}` });
    for (const l of graphLinks(b)) {
      const lines = linkLines(l);
      out.push({
        id: linkId(b.ns, l.name),
        parent: b.id,
        label: lines.join("\n"),
        ...textSize(lines),
        classes: [l.kind ?? "plain", l.up ? "" : "down"].join(" "),
      });
    }
    if (b.processes.length) {
      out.push({
        id: `${b.id}#procs`,
        parent: b.id,
        label: b.processes.join("\n"),
        ...textSize(b.processes, 14),
        classes: "procs",
      });
    }
  }
  return out;
}

/**
 * A big graph's level of detail: each namespace one node (its name and addresses), the host's bridge
 * ports folded into their bridge, so a veth runs from the pod straight to its bridge. Every interface is
 * still in the list and in the details of a click; cytoscape draws a tenth of the elements.
 */
export function collapsed(view: View): { nodes: NodeSpec[]; edges: View["edges"] } {
  const nodes: NodeSpec[] = [];
  const owner = new Map<string, string>(); // link id → the node that stands for it
  for (const b of view.boxes) {
    if (b.ns === "host") {
      nodes.push({ id: b.id, label: "host", w: 0, h: 0, classes: "box host" });
      const bridges = new Set(b.links.filter((l) => l.kind === "bridge").map((l) => l.name));
      for (const l of graphLinks(b)) {
        if (l.master && bridges.has(l.master)) {
          owner.set(linkId("host", l.name), linkId("host", l.master));
          continue;
        }
        const lines = linkLines(l);
        nodes.push({
          id: linkId("host", l.name),
          parent: b.id,
          label: lines.join("\n"),
          ...textSize(lines),
          classes: l.kind ?? "plain",
        });
        owner.set(linkId("host", l.name), linkId("host", l.name));
      }
      continue;
    }
    const title = b.sublabel ? b.label : short(b.label);
    const lines = [title, ...graphLinks(b).flatMap((l) => l.addresses)];
    nodes.push({ id: b.id, label: lines.join("\n"), ...textSize(lines, 14), classes: "leaf pod" });
    for (const l of b.links) owner.set(linkId(b.ns, l.name), b.id);
  }
  const edges: View["edges"] = [];
  const seen = new Set<string>();
  for (const e of view.edges) {
    if (e.kind !== "veth") continue;
    const [a, z] = [owner.get(e.source), owner.get(e.target)];
    if (!a || !z || a === z) continue;
    const id = `veth:${[a, z].sort().join("|")}`;
    if (seen.has(id)) continue;
    seen.add(id);
    edges.push({ id, kind: "veth", source: a, target: z });
  }
  return { nodes, edges };
}

export function short(ns: string): string {
  // containerd's `cni-<uuid>` names: the first 8 hex digits tell pods apart on a projector
  return ns.length > 20 ? `${ns.slice(0, 12)}…` : ns;
}
