/// <reference lib="dom" />
/**
 * The page: the live topology drawn with cytoscape and laid out by ELK (in a web worker, so a big graph
 * never freezes the page), the same topology as a list, the running lab's step with its commands and
 * checks, the step buttons, and a trace as a highlighted path. Everything arrives on one Server-Sent Events
 * stream (/events); the buttons POST with the token.
 *
 * This file holds the page's state and wiring, the list, the details and the trace; the graph is in
 * _cy.ts (cytoscape and its nodes) and _layout.ts (ELK), the lab's steps and buttons in _lab.ts, the DOM
 * helpers and the probe tests read in _dom.ts.
 * @module
 */
import cytoscape from "cytoscape";
import type { CnilabEvent } from "../../events/mod.ts";
import type { TopoLink, UiSnapshot, UiTrace } from "../model.ts";
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
import { $, el, probe } from "./_dom.ts";
import { collapsed, cy, nodesOf, short } from "./_cy.ts";
import { onLab, onWaiting, type Waiting } from "./_lab.ts";
import { BIG, drawBig, layout } from "./_layout.ts";

let filter: Filter = filterFrom(location.search);
let snapshot: UiSnapshot | undefined;
let trace: UiTrace | undefined;

let structure = "";

function drawGraph(view: View, received: number, seq: number): void {
  if (view.boxes.length > BIG) {
    const big = collapsed(view);
    const key = JSON.stringify(
      big.nodes.map((n) => [n.id, n.w, n.h]).concat(big.edges.map((e) => [e.id, 0, 0])),
    );
    if (key !== structure) {
      structure = key;
      void drawBig(big.nodes, big.edges, received, seq, drawTrace);
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
probe.labelled = () => cy.nodes().filter((n) => n.style("label") !== "").length;
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
