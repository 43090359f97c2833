/**
 * What the server sends the page: the kernel's topology (the same reading as `cnilab show`), who owns what
 * (pods by `namespace/name`, runs by their journal) and the shapes of a trace. Shared by the server and the
 * page's code, so it imports nothing that needs a runtime.
 * @module
 */
import type { Topology } from "../topology/mod.ts";

export type { TopoLink, Topology, TopoNamespace } from "../topology/mod.ts";

/** A cnilab pod (from the sandbox runtime's state): its network namespace, labelled `namespace/name`. */
export interface UiPod {
  netns: string;
  namespace: string;
  name: string;
  /** Container names, in the order they were created. */
  containers: string[];
}

/** A run's journal: what it recorded (for the `?run=<id>` filter). */
export interface UiRun {
  id: string;
  kind: string;
  label: string;
  kept: boolean;
  /** Network namespaces the run recorded. */
  netns: string[];
  /** Links the run recorded, as `ns/name` (`host/…` for the host's). */
  links: string[];
}

/** One reading, as pushed to the page. */
export interface UiSnapshot {
  /** Increases with every reading that changed something. */
  seq: number;
  /** When the reading finished (ms since the epoch, the server's clock). */
  at: number;
  topology: Topology;
  pods: UiPod[];
  runs: UiRun[];
}

/** One hop of a trace: where the packet was seen, when, and what happened there. */
export interface TraceHop {
  /** `host` or a namespace name. */
  ns: string;
  /** The interface it was seen on. */
  iface: string;
  /** Microseconds since the probe was sent. */
  us: number;
  /** `request` or `reply`. */
  direction?: string;
  /** What happened there ("forwarded to veth1234", "delivered"), when known. */
  what?: string;
}

/**
 * A trace to draw: the minimal shape the page needs from `cnilab trace --json` (helper h14's command). Any
 * other fields are ignored.
 */
export interface UiTrace {
  from: string;
  to: string;
  ok: boolean;
  hops: TraceHop[];
  /** Why the packet died, when it did. */
  cause?: string;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function text(v: unknown, what: string): string {
  if (typeof v !== "string" || v.length === 0 || v.length > 256) {
    throw new Error(`${what}: expected a string`);
  }
  return v;
}

/** `cnilab trace --json` (lib/trace's TraceReport, version 1) in the shape the page draws. */
function fromReport(raw: Record<string, unknown>): Record<string, unknown> {
  const end = (e: unknown) => (isRecord(e) ? e.pod ?? e.ns ?? e.spec : e);
  const outcome = isRecord(raw.outcome) ? raw.outcome : {};
  const cause = isRecord(outcome.cause) ? outcome.cause.detail : undefined;
  return {
    from: end(raw.from),
    to: end(raw.to),
    ok: outcome.replied === true || (outcome.delivered === true && cause === undefined),
    cause,
    hops: (raw.events as unknown[]).map((e) =>
      isRecord(e) ? { ns: e.ns, iface: e.ifname, us: e.timeUs, direction: e.direction, what: e.action } : e
    ),
  };
}

/**
 * Parses a trace from untrusted JSON (a POST body, a file): `cnilab trace --json` as it prints it, or the
 * minimal {@link UiTrace} shape. Throws one line saying what is wrong.
 */
export function parseTrace(input: unknown): UiTrace {
  const raw = isRecord(input) && input.version === 1 && Array.isArray(input.events)
    ? fromReport(input)
    : input;
  if (!isRecord(raw)) throw new Error("a trace is a JSON object with from, to and hops");
  const hopsRaw = raw.hops;
  if (!Array.isArray(hopsRaw) || hopsRaw.length > 1000) {
    throw new Error("trace.hops: expected a list of hops");
  }
  const hops = hopsRaw.map((h, i): TraceHop => {
    if (!isRecord(h)) throw new Error(`trace.hops[${i}]: expected an object`);
    const us = Number(h.us ?? h.timeUs ?? h.time_us);
    if (!Number.isFinite(us)) throw new Error(`trace.hops[${i}].us: expected microseconds`);
    return {
      ns: text(h.ns ?? h.netns ?? h.namespace, `trace.hops[${i}].ns`),
      iface: text(h.iface ?? h.interface, `trace.hops[${i}].iface`),
      us,
      direction: typeof h.direction === "string" ? h.direction : undefined,
      what: typeof h.what === "string" ? h.what.slice(0, 200) : undefined,
    };
  });
  return {
    from: text(raw.from, "trace.from"),
    to: text(raw.to, "trace.to"),
    ok: raw.ok !== false,
    hops,
    cause: typeof raw.cause === "string" ? raw.cause.slice(0, 300) : undefined,
  };
}

/** What the page asks the step controller (POST /api/step). */
export type StepAnswer = "run" | "repeat" | "quit";

/** What the benchmark and tests read from the page (`globalThis.__cnilab`): the last drawn snapshot and how long its layout took. */
export interface Probe {
  seq: number;
  /** Date.now() when the snapshot's list and graph were on the page (before the layout settled). */
  shownAt: Record<number, number>;
  /** Date.now() when the layout of the snapshot was applied. */
  laidOutAt: Record<number, number>;
  /** Milliseconds from receiving a snapshot to its layout applied and drawn. */
  layoutMs: Record<number, number>;
  nodes: number;
  /** The longest gap between two animation frames while laying out (a frozen page shows here). */
  maxFrameGapMs: number;
  /** Where the last layout's time went (ms): building the view, the layout (ELK in its worker for a small
   * graph, row packing for a big one), adding to cytoscape and drawing. */
  phases: { drawMs: number; elkMs: number; applyMs: number };
  /** The graph's nodes and edges drawn now (not fading out), by id. */
  drawn?: () => string[];
  /** How many nodes carry a label now (a big graph zoomed far out has none). */
  labelled?: () => number;
  /** The ids of what the trace highlights. */
  traced?: () => string[];
  /** Where a node is on the screen (page coordinates), to click it. */
  at?: (id: string) => { x: number; y: number } | undefined;
}
