/// <reference lib="dom" />
/**
 * The page: the live topology drawn with cytoscape and laid out by ELK (in a web worker, so a big graph
 * never freezes the page), the same topology as a list, the running lab's step with its commands and
 * checks, the step buttons, and a trace as a highlighted path. Everything arrives on one Server-Sent Events
 * stream (/events); the buttons POST with the token.
 * @module
 */
import cytoscape from "cytoscape";
import ElkModule from "elkjs/lib/elk-api.js";
import type { CnilabEvent } from "../../events/mod.ts";
import type { StepAnswer, TopoLink, UiSnapshot, UiTrace } from "../model.ts";
import {
  type Box,
  buildView,
  describeLink,
  type Filter,
  filterFrom,
  linkId,
  tracePath,
  type View,
} from "./graph.ts";

interface ElkNode {
  id: string;
  width?: number;
  height?: number;
  x?: number;
  y?: number;
  children?: ElkNode[];
  layoutOptions?: Record<string, string>;
}
interface ElkEdge {
  id: string;
  sources: string[];
  targets: string[];
}
interface ElkApi {
  layout(graph: ElkNode & { edges?: ElkEdge[] }): Promise<ElkNode>;
}

/** What the benchmark and tests read: the last drawn snapshot and how long its layout took. */
interface Probe {
  seq: number;
  /** Date.now() when the snapshot's list and graph were on the page (before the layout settled). */
  shownAt: Record<number, number>;
  /** Date.now() when the layout of the snapshot was applied. */
  laidOutAt: Record<number, number>;
  /** Milliseconds from receiving a snapshot to its layout applied. */
  layoutMs: Record<number, number>;
  nodes: number;
  /** The longest gap between two animation frames while laying out (a frozen page shows here). */
  maxFrameGapMs: number;
  /** Where the last layout's time went (ms): adding to the graph, ELK (in its worker), applying. */
  phases: { drawMs: number; elkMs: number; applyMs: number };
  /** The graph's nodes and edges drawn now (not fading out), by id. */
  drawn?: () => string[];
  /** The ids of what the trace highlights. */
  traced?: () => string[];
  /** Where a node is on the screen (page coordinates), to click it. */
  at?: (id: string) => { x: number; y: number } | undefined;
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const token = document.querySelector<HTMLMetaElement>('meta[name="cnilab-token"]')!.content;
const probe: Probe = {
  seq: 0,
  shownAt: {},
  laidOutAt: {},
  layoutMs: {},
  nodes: 0,
  maxFrameGapMs: 0,
  phases: { drawMs: 0, elkMs: 0, applyMs: 0 },
};
(globalThis as unknown as { __cnilab: Probe }).__cnilab = probe;

// elkjs's API module (CommonJS) exports the class itself; its .d.ts declares only types
const ELK = ElkModule as unknown as new (opts: { workerUrl: string }) => ElkApi;
const elk = new ELK({ workerUrl: "/elk-worker.js" });
// ELK is compiled Java (GWT): its first layout pays for loading and warming the worker, so that happens
// while the page connects, not when the first snapshot is waiting to be drawn
void elk.layout({
  id: "warm",
  children: [{ id: "a", width: 10, height: 10 }, { id: "b", width: 10, height: 10 }],
});
let filter: Filter = filterFrom(location.search);
let snapshot: UiSnapshot | undefined;
let trace: UiTrace | undefined;

// ---------------------------------------------------------------------------------------------------
// The graph

const MONO = '"DejaVu Sans Mono", monospace';
const cy = cytoscape({
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

function textSize(lines: string[], font = 16): { w: number; h: number } {
  const chars = Math.max(...lines.map((l) => [...l].length), 4);
  return { w: Math.ceil(chars * font * 0.61) + 26, h: lines.length * Math.round(font * 1.3) + 18 };
}

function linkLines(l: TopoLink): string[] {
  const head = l.kind ? `${l.name} (${l.kind})` : l.name;
  return [l.up ? head : `${head} DOWN`, ...l.addresses];
}

interface NodeSpec {
  id: string;
  parent?: string;
  label: string;
  w: number;
  h: number;
  classes: string;
  traceLabel?: string;
}

function graphLinks(b: Box): TopoLink[] {
  return b.links.filter((l) => l.name !== "lo");
}

function nodesOf(view: View): NodeSpec[] {
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
function collapsed(view: View): { nodes: NodeSpec[]; edges: View["edges"] } {
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

function short(ns: string): string {
  // containerd's `cni-<uuid>` names: the first 8 hex digits tell pods apart on a projector
  return ns.length > 20 ? `${ns.slice(0, 12)}…` : ns;
}

/** Above this many namespaces the graph is "big": laid out box by box (see layoutBig). */
const BIG = 24;
let laidOut = "";
let layoutRun = 0;

/** Positions of the nodes inside the boxes (centres, page coordinates of the graph). */
type Positions = Record<string, { x: number; y: number }>;

const PAD = "[top=22,left=20,bottom=20,right=20]";

/**
 * Fits the graph to the screen from the layout's own numbers: cytoscape's fit measures every label first,
 * which took seconds for a few thousand nodes.
 */
function fit(positions: Positions, nodes: NodeSpec[]): void {
  let [x1, y1, x2, y2] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const n of nodes) {
    const p = positions[n.id];
    if (!p) continue;
    x1 = Math.min(x1, p.x - n.w / 2);
    y1 = Math.min(y1, p.y - n.h / 2);
    x2 = Math.max(x2, p.x + n.w / 2);
    y2 = Math.max(y2, p.y + n.h / 2);
  }
  if (!Number.isFinite(x1)) return;
  // the boxes' padding and their labels above them
  [x1, y1, x2, y2] = [x1 - 30, y1 - 60, x2 + 30, y2 + 30];
  const margin = 20;
  const zoom = Math.min(
    (cy.width() - 2 * margin) / (x2 - x1),
    (cy.height() - 2 * margin) / (y2 - y1),
    1.6,
  );
  cy.viewport({
    zoom,
    pan: { x: (cy.width() - zoom * (x1 + x2)) / 2, y: (cy.height() - zoom * (y1 + y2)) / 2 },
  });
}

/** Small graphs (a projector's): one ELK layered layout across the boxes, so veth edges run short. */
async function layoutSmall(view: View, byParent: Map<string, NodeSpec[]>): Promise<Positions> {
  const result = await elk.layout({
    id: "root",
    layoutOptions: {
      "elk.algorithm": "layered",
      "elk.direction": "DOWN",
      "elk.hierarchyHandling": "INCLUDE_CHILDREN",
      "elk.spacing.nodeNode": "40",
      "elk.layered.spacing.nodeNodeBetweenLayers": "56",
      "elk.padding": "[top=40,left=20,bottom=20,right=20]",
    },
    children: view.boxes.map((b) => ({
      id: b.id,
      layoutOptions: { "elk.padding": PAD },
      children: (byParent.get(b.id) ?? []).map((n) => ({ id: n.id, width: n.w, height: n.h })),
    })),
    edges: view.edges.map((e) => ({ id: e.id, sources: [e.source], targets: [e.target] })),
  });
  const positions: Positions = {};
  for (const box of result.children ?? []) {
    for (const n of box.children ?? []) {
      positions[n.id] = { x: box.x! + n.x! + n.width! / 2, y: box.y! + n.y! + n.height! / 2 };
    }
  }
  return positions;
}

/** Rows of rectangles, left to right, each row as wide as `maxWidth` allows; returns top-left corners. */
function shelf(items: { w: number; h: number }[], maxWidth: number, gap: number) {
  const at: { x: number; y: number }[] = [];
  let [x, y, rowH, width] = [0, 0, 0, 0];
  for (const it of items) {
    if (x > 0 && x + it.w > maxWidth) {
      [x, y, rowH] = [0, y + rowH + gap, 0];
    }
    at.push({ x, y });
    x += it.w + gap;
    rowH = Math.max(rowH, it.h);
    width = Math.max(width, x - gap);
  }
  return { at, width, height: y + rowH };
}

/** A width for `items` packed in rows so the whole is about `ratio` times as wide as high. */
function rowWidth(items: { w: number; h: number }[], ratio: number): number {
  const area = items.reduce((a, it) => a + (it.w + 40) * (it.h + 40), 0);
  return Math.max(Math.sqrt(area * ratio), ...items.map((it) => it.w));
}

/**
 * Big graphs (hundreds of pods), collapsed (see {@link collapsed}): ELK lays out the host's box when it is
 * small, the boxes and the pods' nodes are packed in rows. One ELK layout of thousands of nodes took seconds,
 * and ELK's own packing of 500 boxes longer still (measured with `cnilab bench ui`, docs/ui.md).
 */
async function layoutBig(nodes: NodeSpec[]): Promise<Positions> {
  const PAD_X = 20, PAD_TOP = 22, PAD_BOTTOM = 20;
  const kids = new Map<string, NodeSpec[]>();
  for (const n of nodes) if (n.parent) kids.set(n.parent, [...(kids.get(n.parent) ?? []), n]);
  const items: { id: string; w: number; h: number; inner?: { x: number; y: number }[] }[] = [];
  for (const n of nodes) {
    if (n.parent) continue;
    const inside = kids.get(n.id);
    if (!inside) {
      items.push({ id: n.id, w: n.w, h: n.h });
      continue;
    }
    if (inside.length <= 12) {
      const r = await elk.layout({
        id: n.id,
        layoutOptions: { "elk.algorithm": "layered", "elk.direction": "RIGHT", "elk.padding": PAD },
        children: inside.map((c) => ({ id: c.id, width: c.w, height: c.h })),
      });
      items.push({
        id: n.id,
        w: r.width!,
        h: r.height!,
        inner: (r.children ?? []).map((c) => ({ x: c.x!, y: c.y! })),
      });
    } else {
      const packed = shelf(inside, rowWidth(inside, 1.6), 16);
      items.push({
        id: n.id,
        w: packed.width + 2 * PAD_X,
        h: packed.height + PAD_TOP + PAD_BOTTOM,
        inner: packed.at.map((p) => ({ x: p.x + PAD_X, y: p.y + PAD_TOP })),
      });
    }
  }
  const root = shelf(items, rowWidth(items, 1.7), 30);
  const positions: Positions = {};
  for (const [i, it] of items.entries()) {
    const o = root.at[i];
    if (!it.inner) {
      positions[it.id] = { x: o.x + it.w / 2, y: o.y + it.h / 2 };
      continue;
    }
    for (const [j, c] of (kids.get(it.id) ?? []).entries()) {
      positions[c.id] = { x: o.x + it.inner[j].x + c.w / 2, y: o.y + it.inner[j].y + c.h / 2 };
    }
  }
  return positions;
}

async function layout(view: View, nodes: NodeSpec[], received: number, seq: number): Promise<void> {
  const run = ++layoutRun;
  const big = view.boxes.length > BIG;
  const byParent = new Map<string, NodeSpec[]>();
  for (const n of nodes) {
    if (!n.parent) continue;
    if (!byParent.has(n.parent)) byParent.set(n.parent, []);
    byParent.get(n.parent)!.push(n);
  }
  // a frozen page shows as a long gap between animation frames while the layout runs
  let last = performance.now();
  let gap = 0;
  let watching = true;
  const frame = () => {
    const now = performance.now();
    gap = Math.max(gap, now - last);
    last = now;
    if (watching) requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
  const elkStart = performance.now();
  probe.phases.drawMs = elkStart - received;
  const positions = await layoutSmall(view, byParent);
  const applyStart = performance.now();
  probe.phases.elkMs = applyStart - elkStart;
  if (run !== layoutRun) {
    watching = false;
    return; // a newer snapshot is being laid out
  }
  const animate = !big && laidOut !== "";
  if (animate) {
    cy.batch(() => {
      for (const [id, p] of Object.entries(positions)) {
        const n = cy.getElementById(id);
        if (n.empty()) continue;
        if (n.data("placed")) n.animate({ position: p }, { duration: 350 });
        else n.position(p);
        n.data("placed", true);
      }
    });
  } else {
    cy.nodes().not(".box").forEach((n) => {
      n.data("placed", true);
    });
    cy.layout({
      name: "preset",
      positions: (n: cytoscape.NodeSingular) => positions[n.id()] ?? n.position(),
      fit: false,
      animate: false,
    } as cytoscape.LayoutOptions).run();
  }
  cy.$(".unplaced").removeClass("unplaced");
  fit(positions, nodes);
  laidOut = String(seq);
  probe.laidOutAt[seq] = Date.now();
  probe.layoutMs[seq] = performance.now() - received;
  probe.phases.applyMs = performance.now() - applyStart;
  // one more frame: the drawing itself counts too
  await new Promise((r) => requestAnimationFrame(r));
  watching = false;
  probe.maxFrameGapMs = Math.max(probe.maxFrameGapMs, gap);
  probe.nodes = nodes.length;
}

let structure = "";

/**
 * A big graph is laid out before cytoscape sees it, then added in one go at its final zoom: so cytoscape
 * never draws thousands of full-size labels it will shrink away (that froze the page for seconds).
 */
async function drawBig(
  nodes: NodeSpec[],
  edges: View["edges"],
  received: number,
  seq: number,
): Promise<void> {
  const run = ++layoutRun;
  let last = performance.now();
  let gap = 0;
  let watching = true;
  const frame = () => {
    const now = performance.now();
    gap = Math.max(gap, now - last);
    last = now;
    if (watching) requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
  const elkStart = performance.now();
  probe.phases.drawMs = elkStart - received;
  const positions = await layoutBig(nodes);
  if (run !== layoutRun) {
    watching = false;
    return;
  }
  const applyStart = performance.now();
  probe.phases.elkMs = applyStart - elkStart;
  cy.batch(() => {
    cy.elements().remove();
    fit(positions, nodes);
  });
  cy.add([
    ...nodes.map((n) => ({
      group: "nodes" as const,
      data: { id: n.id, parent: n.parent, label: n.label, w: n.w, h: n.h, placed: true },
      classes: n.classes,
      position: positions[n.id],
    })),
    ...edges.map((e) => ({
      group: "edges" as const,
      data: { id: e.id, source: e.source, target: e.target },
      classes: `${e.kind} fast`,
    })),
  ]);
  drawTrace();
  laidOut = String(seq);
  probe.laidOutAt[seq] = Date.now();
  probe.layoutMs[seq] = performance.now() - received;
  probe.phases.applyMs = performance.now() - applyStart;
  await new Promise((r) => requestAnimationFrame(r));
  watching = false;
  probe.maxFrameGapMs = Math.max(probe.maxFrameGapMs, gap);
  probe.nodes = nodes.length;
}

function drawGraph(view: View, received: number, seq: number): void {
  if (view.boxes.length > BIG) {
    const big = collapsed(view);
    const key = JSON.stringify(
      big.nodes.map((n) => [n.id, n.w, n.h]).concat(big.edges.map((e) => [e.id, 0, 0])),
    );
    if (key !== structure) {
      structure = key;
      void drawBig(big.nodes, big.edges, received, seq);
    } else {
      probe.laidOutAt[seq] = Date.now();
      probe.layoutMs[seq] = performance.now() - received;
    }
    return;
  }
  const nodes = nodesOf(view);
  const wanted = new Set([...nodes.map((n) => n.id), ...view.edges.map((e) => e.id)]);
  const first = cy.elements().empty();
  const adds: cytoscape.ElementDefinition[] = [];
  cy.batch(() => {
    // what is gone fades out (a removed namespace, a deleted veth), then leaves
    cy.elements().forEach((el) => {
      if (wanted.has(el.id()) || el.hasClass("gone")) return;
      el.addClass("gone");
      el.animate({ style: { opacity: 0 } }, { duration: 700, complete: () => el.remove() });
    });
    for (const n of nodes) {
      const el = cy.getElementById(n.id);
      if (el.nonempty() && el.hasClass("gone")) el.remove();
      const existing = cy.getElementById(n.id);
      if (existing.nonempty()) {
        existing.data({ label: n.label, w: n.w, h: n.h });
        existing.classes(n.classes + (existing.hasClass("fresh") ? " fresh" : ""));
        continue;
      }
      adds.push({
        group: "nodes",
        data: { id: n.id, parent: n.parent, label: n.label, w: n.w, h: n.h },
        classes: n.classes + (first ? "" : " fresh") + (n.parent ? " unplaced" : ""),
      });
    }
    for (const e of view.edges) {
      const el = cy.getElementById(e.id);
      if (el.nonempty() && el.hasClass("gone")) el.remove();
      if (cy.getElementById(e.id).nonempty()) continue;
      adds.push({ group: "edges", data: { id: e.id, source: e.source, target: e.target }, classes: e.kind });
    }
  });
  // one add for everything new: thousands of single adds is what made a big graph slow
  if (adds.length) cy.add(adds);
  setTimeout(() => cy.$(".fresh").removeClass("fresh"), 2500);
  drawTrace();
  const key = JSON.stringify(nodes.map((n) => [n.id, n.w, n.h]).concat(view.edges.map((e) => [e.id, 0, 0])));
  if (key !== structure) {
    structure = key;
    void layout(view, nodes, received, seq);
  } else {
    probe.laidOutAt[seq] = Date.now();
    probe.layoutMs[seq] = performance.now() - received;
  }
}

probe.drawn = () => cy.elements().not(".gone").map((e) => e.id());
probe.traced = () => cy.$(".trace").map((e) => e.id());
probe.at = (id) => {
  const n = cy.getElementById(id);
  if (n.empty()) return undefined;
  const p = n.renderedPosition();
  const r = $("graph").getBoundingClientRect();
  return { x: r.left + p.x, y: r.top + p.y };
};

cy.on("tap", "node", (ev) => {
  const id: string = ev.target.id();
  const boxId = id.startsWith("box:") ? id : ev.target.data("parent") ?? `box:${id.split("/")[0]}`;
  showDetails(boxId.replace(/#procs$/, ""));
});

// ---------------------------------------------------------------------------------------------------
// The list (for screen readers, and for tests)

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  text?: string,
  attrs: Record<string, string> = {},
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

function linkItem(b: Box, l: TopoLink): HTMLLIElement {
  const li = el("li", describeLink(l), {
    "data-id": linkId(b.ns, l.name),
    "data-kind": l.kind ?? "plain",
  });
  if (l.peer) li.setAttribute("data-peer", l.peer);
  return li;
}

function drawList(view: View): void {
  const root = $("topology-list");
  const out: HTMLElement[] = [
    el("h2", `Topology: ${view.boxes.length - 1} namespaces, ${view.edges.length} links`),
  ];
  for (const b of view.boxes) {
    const section = el("section", undefined, { "data-box": b.ns, "aria-label": b.label });
    const title = b.ns === "host" ? "host" : b.pod ? `pod ${b.label} (netns ${b.ns})` : `netns ${b.ns}`;
    section.append(el("h3", title));
    if (b.processes.length) section.append(el("p", `processes: ${b.processes.join(", ")}`));
    const ul = el("ul");
    const bridges = b.links.filter((l) => l.kind === "bridge");
    for (const br of bridges) {
      const li = linkItem(b, br);
      const ports = el("ul", undefined, { "aria-label": `ports of ${br.name}` });
      for (const p of b.links.filter((l) => l.master === br.name)) ports.append(linkItem(b, p));
      li.append(ports);
      ul.append(li);
    }
    for (
      const l of b.links.filter((l) =>
        l.kind !== "bridge" && !(l.master && bridges.some((x) => x.name === l.master))
      )
    ) {
      ul.append(linkItem(b, l));
    }
    section.append(ul);
    if (b.routes.length) {
      const routes = el("ul", undefined, { "aria-label": `routes in ${b.ns}` });
      for (const r of b.routes) routes.append(el("li", `route ${r}`));
      section.append(routes);
    }
    out.push(section);
  }
  root.replaceChildren(...out);
}

function showDetails(boxId: string): void {
  if (!snapshot) return;
  const b = buildView(snapshot, filter).boxes.find((x) => x.id === boxId);
  const details = $("details");
  if (!b) return;
  const list = (items: string[]) => {
    const ul = el("ul");
    for (const i of items) ul.append(el("li", i));
    return ul;
  };
  details.replaceChildren(
    el("h2", b.ns === "host" ? "host" : b.label),
    ...(b.sublabel ? [el("p", `netns ${b.sublabel}`, { class: "dim" })] : []),
    ...(b.processes.length ? [el("h3", "Processes"), list(b.processes)] : []),
    el("h3", "Interfaces"),
    list(b.links.map(describeLink)),
    el("h3", "Routes"),
    list(b.routes.length ? b.routes : ["(none)"]),
  );
}

// ---------------------------------------------------------------------------------------------------
// The run filter, the trace

function drawRuns(): void {
  const select = $<HTMLSelectElement>("run-filter");
  const runs = snapshot?.runs ?? [];
  const options = [el("option", "all runs", { value: "" })];
  for (const r of runs) {
    options.push(el("option", `${r.kind} ${r.label} (${r.id.slice(0, 8)})`, { value: r.id }));
  }
  if (filter.run && !runs.some((r) => r.id === filter.run)) {
    options.push(el("option", `run ${filter.run} (gone)`, { value: filter.run }));
  }
  select.replaceChildren(...options);
  select.value = filter.run ?? "";
}

function drawTrace(): void {
  cy.$(".trace").removeClass("trace");
  if (!trace) return;
  const path = tracePath(trace);
  const times = new Map<string, number[]>();
  for (const h of trace.hops) {
    times.set(linkId(h.ns, h.iface), [...(times.get(linkId(h.ns, h.iface)) ?? []), h.us]);
  }
  for (const [i, id] of path.entries()) {
    const n = cy.getElementById(id);
    n.addClass("trace");
    n.data(
      "traceLabel",
      `${n.data("label")}\n+${(times.get(id) ?? []).map((us) => `${Math.round(us)} µs`).join(", +")}`,
    );
    const next = path[i + 1];
    if (next) {
      cy.edges().filter((e) =>
        (e.source().id() === id && e.target().id() === next) ||
        (e.source().id() === next && e.target().id() === id)
      ).addClass("trace");
      // through a bridge: port → bridge → port
      const bridgeOf = (x: string) => cy.getElementById(x).connectedEdges(".port").targets(".bridge");
      const br = bridgeOf(id).intersection(bridgeOf(next));
      if (br.nonempty()) {
        br.addClass("trace");
        cy.getElementById(id).connectedEdges(".port").addClass("trace");
        cy.getElementById(next).connectedEdges(".port").addClass("trace");
      }
    }
  }
}

function drawTraceTable(): void {
  const section = $("trace");
  if (!trace) {
    section.hidden = true;
    return;
  }
  section.hidden = false;
  const table = el("table");
  const head = el("tr");
  for (const h of ["#", "where", "+µs", "what"]) head.append(el("th", h));
  table.append(head);
  for (const [i, h] of [...trace.hops].sort((a, b) => a.us - b.us).entries()) {
    const tr = el("tr");
    tr.append(
      el("td", String(i + 1)),
      el("td", `${short(h.ns)}/${h.iface}`),
      el("td", String(Math.round(h.us))),
      el("td", [h.direction, h.what].filter(Boolean).join(": ")),
    );
    table.append(tr);
  }
  section.replaceChildren(
    el("h2", `Trace ${short(trace.from)} → ${short(trace.to)}`),
    table,
    ...(trace.ok ? [] : [el("p", `✗ ${trace.cause ?? "the packet died"}`, { class: "dead" })]),
  );
}

// ---------------------------------------------------------------------------------------------------
// The lab

function sh(argv: string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`)).join(" ");
}

const commandItems = new Map<number, HTMLLIElement>();
let staleLog = false;

function clearStale(): void {
  if (!staleLog) return;
  staleLog = false;
  $("commands").replaceChildren();
  $("checks").replaceChildren();
  commandItems.clear();
}

function onLab(e: CnilabEvent): void {
  const lab = $("lab");
  lab.hidden = false;
  switch (e.type) {
    case "lab:start":
      $("lab-title").textContent = `Lab ${e.section} · ${e.title}  (run ${e.runId.slice(0, 8)})`;
      $("verdict").textContent = "";
      $("verdict").className = "";
      break;
    case "step:start":
      $("step-title").textContent = `Step ${e.index + 1} · ${e.title}`;
      $("step-mirrors").textContent = e.mirrors;
      $("step-narration").textContent = e.narration;
      // in step mode the step is introduced before it runs: the last step's commands and checks stay on
      // the screen until this one's first command
      staleLog = true;
      break;
    case "step:repeat":
      $("commands").append(el("li", `step ${e.index + 1} shown again: ${e.title}`, { class: "note" }));
      break;
    case "command:start": {
      clearStale();
      const li = el("li", `$ ${sh(e.argv)}`, { class: e.purpose });
      if (e.stdin && e.argv.includes("-batch")) li.append(el("pre", e.stdin.trimEnd()));
      commandItems.set(e.id, li);
      $("commands").append(li);
      li.scrollIntoView({ block: "nearest" });
      break;
    }
    case "command:end": {
      const li = commandItems.get(e.id);
      if (!li) break;
      if (e.code !== 0 && e.purpose !== "read") {
        li.classList.add("failed");
        li.append(
          el("pre", `exit ${e.code}: ${(e.stderr || e.stdout).trim().split("\n").slice(-2).join(" / ")}`),
        );
      } else if (e.purpose === "show" && e.stdout.trim()) {
        li.append(el("pre", e.stdout.trimEnd()));
      }
      break;
    }
    case "check": {
      clearStale();
      const li = el("li", e.name, { class: e.ok ? "ok" : "bad" });
      if (!e.ok) {
        li.append(
          el("span", `expected ${JSON.stringify(e.expected)}, got ${JSON.stringify(e.actual)}`, {
            class: "why",
          }),
        );
      }
      $("checks").append(li);
      break;
    }
    case "note":
      clearStale();
      $("commands").append(el("li", e.text, { class: "note" }));
      break;
    case "step:end":
      if (e.error) $("checks").append(el("li", `step failed: ${e.error}`, { class: "bad" }));
      break;
    case "teardown":
      if (e.phase === "start") {
        $("step-title").textContent = "Teardown";
        $("step-mirrors").textContent = e.reason;
        $("step-narration").textContent = "Everything the run recorded is removed, then checked to be gone.";
        $("commands").replaceChildren();
        $("checks").replaceChildren();
      }
      break;
    case "lab:end": {
      const v = $("verdict");
      v.textContent = `${e.ok ? "✓ passed" : "✗ failed"}${
        e.kept ? " (kept standing)" : ""
      }: ${e.passed} checks passed, ${e.failed} failed`;
      v.className = e.ok ? "ok" : "bad";
      break;
    }
  }
}

interface Waiting {
  index: number;
  total: number;
  title: string;
  ended?: boolean;
}

function onWaiting(w: Waiting | null): void {
  const buttons = ["btn-next", "btn-repeat", "btn-quit"].map((id) => $<HTMLButtonElement>(id));
  for (const b of buttons) b.disabled = w === null;
  const prompt = $("step-prompt");
  if (w === null) prompt.textContent = "";
  else if (w.ended) {
    buttons[0].disabled = true;
    buttons[1].disabled = true;
    prompt.textContent = "The lab has finished: Quit ends the server.";
  } else {
    $("lab").hidden = false;
    prompt.textContent = `Next: step ${w.index + 1} of ${w.total} · ${w.title}`;
  }
}

for (const id of ["btn-next", "btn-repeat", "btn-quit"]) {
  $(id).addEventListener("click", async (ev) => {
    const answer = (ev.currentTarget as HTMLElement).dataset.answer as StepAnswer;
    onWaiting(null);
    await fetch("/api/step", {
      method: "POST",
      headers: { "content-type": "application/json", "x-cnilab-token": token },
      body: JSON.stringify({ answer }),
    });
  });
}

// ---------------------------------------------------------------------------------------------------
// Wiring

function render(received: number): void {
  if (!snapshot) return;
  const view = buildView(snapshot, filter);
  drawList(view);
  drawRuns();
  probe.seq = snapshot.seq;
  probe.shownAt[snapshot.seq] = Date.now();
  drawGraph(view, received, snapshot.seq);
  const time = new Date(snapshot.at).toLocaleTimeString();
  const status = $("status");
  status.className = "live";
  status.textContent = `live · ${view.boxes.length - 1} namespaces · read ${time}`;
}

function setFilter(next: Filter): void {
  filter = next;
  const q = new URLSearchParams();
  if (filter.view === "pods") q.set("view", "pods");
  if (filter.run) q.set("run", filter.run);
  history.replaceState(null, "", `${location.pathname}${q.size ? `?${q}` : ""}`);
  for (const b of document.querySelectorAll<HTMLButtonElement>("nav button[data-view]")) {
    b.setAttribute("aria-pressed", String(b.dataset.view === filter.view));
  }
  structure = "";
  render(performance.now());
}

for (const b of document.querySelectorAll<HTMLButtonElement>("nav button[data-view]")) {
  b.addEventListener(
    "click",
    () => setFilter({ ...filter, view: b.dataset.view === "pods" ? "pods" : "all" }),
  );
}
$<HTMLSelectElement>("run-filter").addEventListener("change", (ev) => {
  setFilter({ ...filter, run: (ev.target as HTMLSelectElement).value || undefined });
});
$("toggle-list").addEventListener("click", (ev) => {
  const on = document.body.classList.toggle("list-view");
  (ev.currentTarget as HTMLElement).setAttribute("aria-pressed", String(on));
  $("topology-list").classList.toggle("visually-hidden", !on);
  if (!on) cy.resize();
});
setFilter(filter);

const source = new EventSource("/events");
source.addEventListener("snapshot", (m) => {
  snapshot = JSON.parse((m as MessageEvent).data) as UiSnapshot;
  render(performance.now());
});
source.addEventListener("replay", (m) => {
  for (const e of JSON.parse((m as MessageEvent).data) as CnilabEvent[]) onLab(e);
});
source.addEventListener("lab", (m) => onLab(JSON.parse((m as MessageEvent).data) as CnilabEvent));
source.addEventListener("waiting", (m) => onWaiting(JSON.parse((m as MessageEvent).data) as Waiting | null));
source.addEventListener("trace", (m) => {
  trace = JSON.parse((m as MessageEvent).data) as UiTrace;
  drawTrace();
  drawTraceTable();
});
source.addEventListener("error", () => {
  const status = $("status");
  status.className = "down";
  status.textContent = "disconnected: retrying…";
});
