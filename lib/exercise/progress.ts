/**
 * An attendee's progress on one exercise, kept in its work dir (`progress.json`, removed by `reset` with
 * the rest): when they began, the hints they took (in order, so `hints` can show them again), when the
 * checks first passed, and the last check's counts. `report` reads it; nothing here decides a verdict.
 * @module
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import type { CheckResult, Verdict } from "./checks.ts";
import { type Exercise, exerciseOwner, workDir } from "./exercise.ts";

/** What progress.json holds. */
export interface Progress {
  /** The first `start`, `hint` or `check <id>` (ISO time). */
  startedAt?: string;
  /** Hints taken, in order: hint `n` (1-based) at time `at`. */
  hints: { n: number; at: string }[];
  /** The first check that passed. */
  passedAt?: string;
  /** When `cnilab exercise solve` ran the reference solution. */
  solvedAt?: string;
  /** The last check. */
  lastCheck?: { at: string; verdict: Verdict; passing: number; failing: number };
}

function file(ex: Exercise): string {
  return `${workDir(ex.id)}/progress.json`;
}

/** The exercise's progress (empty when it was never begun, or was reset). */
export function readProgress(ex: Exercise): Progress {
  try {
    const p = JSON.parse(readFileSync(file(ex), "utf8")) as Partial<Progress>;
    return { ...p, hints: Array.isArray(p.hints) ? p.hints : [] };
  } catch {
    return { hints: [] };
  }
}

/** True when the attendee began the exercise (progress recorded). */
export function begun(ex: Exercise): boolean {
  return existsSync(file(ex));
}

/** Changes the progress (creating the exercise's owner and work dir on first use). */
export async function updateProgress(ex: Exercise, change: (p: Progress) => void): Promise<Progress> {
  await exerciseOwner(ex);
  const p = readProgress(ex);
  change(p);
  writeFileSync(file(ex), JSON.stringify(p, null, 2) + "\n");
  return p;
}

/** Marks the exercise begun now, unless it already was. */
export function markBegun(ex: Exercise): Promise<Progress> {
  return updateProgress(ex, (p) => {
    p.startedAt ??= new Date().toISOString();
  });
}

/** Checks passing and not passing ("could not check" and skipped count as not passing). */
export function counts(results: CheckResult[]): { passing: number; failing: number } {
  const passing = results.filter((r) => r.status === "pass").length;
  return { passing, failing: results.length - passing };
}

/** Records a check's outcome: its counts, and the time it first passed. */
export function recordCheck(ex: Exercise, verdict: Verdict, results: CheckResult[]): Promise<Progress> {
  return updateProgress(ex, (p) => {
    const now = new Date().toISOString();
    p.lastCheck = { at: now, verdict, ...counts(results) };
    if (verdict === "passed") p.passedAt ??= now;
  });
}

/** Seconds from start to the first pass, when both are known. */
export function secondsToPass(p: Progress): number | undefined {
  if (!p.startedAt || !p.passedAt) return undefined;
  return Math.max(0, Math.round((Date.parse(p.passedAt) - Date.parse(p.startedAt)) / 1000));
}

/** How many hints were shown so far. */
export function hintsShown(ex: Exercise): number {
  return readProgress(ex).hints.length;
}

/** One hint as `hint` and `hints` show it. */
export interface ShownHint {
  /** 1-based. */
  n: number;
  of: number;
  text: string;
  at: string;
}

/** The next hint (remembered per exercise; taking one marks the exercise begun), or undefined when all were shown. */
export async function nextHint(ex: Exercise): Promise<ShownHint | undefined> {
  const shown = hintsShown(ex);
  if (shown >= ex.hints.length) return undefined;
  const at = new Date().toISOString();
  await updateProgress(ex, (p) => {
    p.startedAt ??= at;
    p.hints.push({ n: shown + 1, at });
  });
  return { n: shown + 1, of: ex.hints.length, text: ex.hints[shown], at };
}

/** Every hint taken so far, in the order they were taken. */
export function hintsTaken(ex: Exercise): ShownHint[] {
  return readProgress(ex).hints.filter((h) => h.n >= 1 && h.n <= ex.hints.length)
    .map((h) => ({ n: h.n, of: ex.hints.length, text: ex.hints[h.n - 1], at: h.at }));
}
