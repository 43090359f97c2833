/// <reference lib="dom" />
/**
 * The page's DOM helpers and its probe (what the benchmark and tests read, at `globalThis.__cnilab`).
 * @module
 */
import type { Probe } from "../model.ts";

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
