/// <reference lib="dom" />
/**
 * Laying the graph out with ELK (in a web worker, so a big graph never freezes the page): a small graph
 * namespace by namespace inside one ELK graph, a big one box by box on shelves, then applied to cytoscape.
 * @module
 */
import type cytoscape from "cytoscape";
import ElkModule from "elkjs/lib/elk-api.js";
import { cy, type NodeSpec } from "./_cy.ts";
import { probe } from "./_dom.ts";
import type { View } from "./graph.ts";

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

// elkjs's API module (CommonJS) exports the class itself; its .d.ts declares only types
const ELK = ElkModule as unknown as new (opts: { workerUrl: string }) => ElkApi;
const elk = new ELK({ workerUrl: "/elk-worker.js" });
// ELK is compiled Java (GWT): its first layout pays for loading and warming the worker, so that happens
// while the page connects, not when the first snapshot is waiting to be drawn
void elk.layout({
  id: "warm",
  children: [{ id: "a", width: 10, height: 10 }, { id: "b", width: 10, height: 10 }],
});

/** How many nodes a big graph adds per animation frame (see drawBig; 40/100 and 80/250 measured alike). */
const NODES_PER_FRAME = 80;
/** The largest font on the graph (a box's title) and cytoscape's min-zoomed-font-size (_cy.ts). */
const LARGEST_FONT = 19, MIN_FONT = 7;
let labelsHidden = false;
cy.on("zoom", () => {
  if (!labelsHidden || cy.zoom() * LARGEST_FONT < MIN_FONT) return;
  labelsHidden = false;
  cy.nodes(".tiny").removeClass("tiny");
});

/** How many edges a big graph adds per animation frame, after its nodes. */
const EDGES_PER_FRAME = 250;

/** Above this many namespaces the graph is "big": laid out box by box (see layoutBig). */
export const BIG = 24;
let laidOut = "";
let layoutRun = 0;

/** The nodes inside each box, by the box's id, in the order given. */
function childrenOf(nodes: NodeSpec[]): Map<string, NodeSpec[]> {
  const out = new Map<string, NodeSpec[]>();
  for (const n of nodes) {
    if (!n.parent) continue;
    const list = out.get(n.parent);
    if (list) list.push(n);
    else out.set(n.parent, [n]);
  }
  return out;
}

/** Positions of the nodes inside the boxes (centres, page coordinates of the graph). */
export type Positions = Record<string, { x: number; y: number }>;

export const PAD = "[top=22,left=20,bottom=20,right=20]";

/**
 * Fits the graph to the screen from the layout's own numbers: cytoscape's fit measures every label first,
 * which took seconds for a few thousand nodes.
 */
export function fit(positions: Positions, nodes: NodeSpec[]): void {
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
export async function layoutSmall(view: View, byParent: Map<string, NodeSpec[]>): Promise<Positions> {
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
export function shelf(items: { w: number; h: number }[], maxWidth: number, gap: number) {
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
export function rowWidth(items: { w: number; h: number }[], ratio: number): number {
  const area = items.reduce((a, it) => a + (it.w + 40) * (it.h + 40), 0);
  return Math.max(Math.sqrt(area * ratio), ...items.map((it) => it.w));
}

/**
 * Big graphs (hundreds of pods), collapsed (see {@link collapsed}): the boxes and the nodes inside them are
 * packed in rows, on the main thread in a few ms. One ELK layout of thousands of nodes took seconds, ELK's own
 * packing of 500 boxes longer still, and one small ELK layout per box (500 round trips to its worker) ~0.7 s
 * (measured with `cnilab bench ui`, docs/ui.md).
 */
export function layoutBig(nodes: NodeSpec[]): Positions {
  const PAD_X = 20, PAD_TOP = 22, PAD_BOTTOM = 20;
  const kids = childrenOf(nodes);
  const items: { id: string; w: number; h: number; inner?: { x: number; y: number }[] }[] = [];
  for (const n of nodes) {
    if (n.parent) continue;
    const inside = kids.get(n.id);
    if (!inside) {
      items.push({ id: n.id, w: n.w, h: n.h });
      continue;
    }
    const packed = shelf(inside, rowWidth(inside, 1.6), 16);
    items.push({
      id: n.id,
      w: packed.width + 2 * PAD_X,
      h: packed.height + PAD_TOP + PAD_BOTTOM,
      inner: packed.at.map((p) => ({ x: p.x + PAD_X, y: p.y + PAD_TOP })),
    });
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

/**
 * A frozen page shows as a long gap between animation frames while a layout runs: this watches them until
 * `stop()`, which returns the longest gap (ms).
 */
function watchFrames(): { stop(): number } {
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
  return {
    stop() {
      watching = false;
      return gap;
    },
  };
}

/** A layout is on the page: the probe learns when, how long it took, and the longest frame gap meanwhile. */
async function laidOutNow(
  seq: number,
  received: number,
  applyStart: number,
  frames: { stop(): number },
  nodes: number,
): Promise<void> {
  laidOut = String(seq);
  // cytoscape draws in an animation frame of its own: two more frames, and the drawing is counted too
  await new Promise((r) => requestAnimationFrame(r));
  await new Promise((r) => requestAnimationFrame(r));
  probe.laidOutAt[seq] = Date.now();
  probe.layoutMs[seq] = performance.now() - received;
  probe.phases.applyMs = performance.now() - applyStart;
  probe.maxFrameGapMs = Math.max(probe.maxFrameGapMs, frames.stop());
  probe.nodes = nodes;
}

export async function layout(view: View, nodes: NodeSpec[], received: number, seq: number): Promise<void> {
  const run = ++layoutRun;
  const big = view.boxes.length > BIG;
  const byParent = childrenOf(nodes);
  const frames = watchFrames();
  const elkStart = performance.now();
  probe.phases.drawMs = elkStart - received;
  const positions = await layoutSmall(view, byParent);
  const applyStart = performance.now();
  probe.phases.elkMs = applyStart - elkStart;
  if (run !== layoutRun) {
    frames.stop();
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
  await laidOutNow(seq, received, applyStart, frames, nodes.length);
}

/**
 * A big graph is laid out before cytoscape sees it, then added at its final zoom (so cytoscape never draws
 * thousands of full-size labels it will shrink away), a few dozen nodes an animation frame and the edges
 * after them: cytoscape styles, measures and draws what is added in one task, and 500 pods in one go held the
 * page 1.1-1.3 s; in steps the longest frame gap is ~0.5 s for the same total. `onDrawn` runs once it is on
 * the page (the trace is drawn over it).
 */
export async function drawBig(
  nodes: NodeSpec[],
  edges: View["edges"],
  received: number,
  seq: number,
  onDrawn: () => void,
): Promise<void> {
  const run = ++layoutRun;
  const frames = watchFrames();
  const elkStart = performance.now();
  probe.phases.drawMs = elkStart - received;
  const positions = layoutBig(nodes);
  if (run !== layoutRun) {
    frames.stop();
    return;
  }
  const applyStart = performance.now();
  probe.phases.elkMs = applyStart - elkStart;
  cy.batch(() => {
    cy.elements().remove();
    fit(positions, nodes);
  });
  const inside = childrenOf(nodes);
  const family = (n: NodeSpec): NodeSpec[] => [n, ...(inside.get(n.id) ?? []).flatMap(family)];
  const ordered = nodes.filter((n) => !n.parent).flatMap(family); // a box before what is inside it
  // at this zoom no label reaches cytoscape's min-zoomed-font-size: leave them out until a zoom in
  // (measuring 500 labels nobody can read cost ~0.2 s)
  const tiny = cy.zoom() * LARGEST_FONT < MIN_FONT ? " tiny" : "";
  labelsHidden = tiny !== "";
  const steps: cytoscape.ElementDefinition[][] = [];
  for (let i = 0; i < ordered.length; i += NODES_PER_FRAME) {
    steps.push(
      ordered.slice(i, i + NODES_PER_FRAME).map((n) => ({
        group: "nodes" as const,
        data: { id: n.id, parent: n.parent, label: n.label, w: n.w, h: n.h, placed: true },
        classes: n.classes + tiny,
        position: positions[n.id],
      })),
    );
  }
  // then the edges: each needs both its ends on the graph
  for (let i = 0; i < edges.length; i += EDGES_PER_FRAME) {
    steps.push(
      edges.slice(i, i + EDGES_PER_FRAME).map((e) => ({
        group: "edges" as const,
        data: { id: e.id, source: e.source, target: e.target },
        classes: `${e.kind} fast`,
      })),
    );
  }
  for (const [i, step] of steps.entries()) {
    if (i > 0) await new Promise((r) => requestAnimationFrame(r));
    if (run !== layoutRun) break; // a newer snapshot took over
    cy.add(step);
  }
  if (run !== layoutRun) {
    frames.stop();
    return;
  }
  onDrawn();
  await laidOutNow(seq, received, applyStart, frames, nodes.length);
}
