/// <reference lib="dom" />
/**
 * The page's DOM helpers and its probe (what the benchmark and tests read, at `globalThis.__cnilab`).
 * @module
 */
/** What the benchmark and tests read: the last drawn snapshot and how long its layout took. */
export interface Probe {
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

export const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
export const token = document.querySelector<HTMLMetaElement>('meta[name="cnilab-token"]')!.content;
export const probe: Probe = {
  seq: 0,
  shownAt: {},
  laidOutAt: {},
  layoutMs: {},
  nodes: 0,
  maxFrameGapMs: 0,
  phases: { drawMs: 0, elkMs: 0, applyMs: 0 },
};
(globalThis as unknown as { __cnilab: Probe }).__cnilab = probe;

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  text?: string,
  attrs: Record<string, string> = {},
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}
