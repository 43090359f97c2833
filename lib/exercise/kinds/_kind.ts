/**
 * What every check kind shares: the result a check reports, the context it runs in, and the small helpers
 * that build a result. Each kind is one file beside this one (./mod.ts is the registry).
 * @module
 */
import type { CheckSpec, Exercise } from "../exercise.ts";

/** What one check found. `broken`: the environment is not as the exercise needs it (exit 2). */
export interface CheckResult {
  name: string;
  /** What it looked at, as a command the attendee can run. */
  command: string;
  status: "pass" | "fail" | "broken" | "skip";
  expected?: string;
  actual?: string;
  /** What the check found, as a sentence about the state ("ext-b has no master and is down"). */
  observed?: string;
  /** How to get on (may name commands): shown only with `check --explain`, or for "could not check". */
  hint?: string;
}

/** What a check in an exercise's checks.ts gets. */
export interface CheckContext {
  ex: Exercise;
  /** Variables, including those bound by earlier checks. */
  vars: Record<string, string>;
  /** Substitutes variables in a string. */
  sub(text: string): string;
}

/** A check written in code (exported from an exercise's checks.ts, under `checks`). */
export type CodeCheck = (ctx: CheckContext) => Promise<CheckResult[]>;

export const show = (v: unknown): string => (typeof v === "string" ? v : JSON.stringify(v));

/** A passing or failing result from a comparison. */
export function compare(
  name: string,
  command: string,
  actual: unknown,
  expected: unknown,
  hint?: string,
  observed?: string,
): CheckResult {
  const ok = JSON.stringify(actual) === JSON.stringify(expected);
  return ok ? { name, command, status: "pass" } : {
    name,
    command,
    status: "fail",
    expected: show(expected),
    actual: actual === undefined ? "nothing" : show(actual),
    observed,
    hint,
  };
}

/** One check kind: a spec from checks.yaml in, results out. */
export type Kind = (spec: CheckSpec, ctx: CheckContext) => Promise<CheckResult[]>;

/** A spec field with `${var}`s substituted (undefined when absent). */
export const str = (ctx: CheckContext, v: unknown): string | undefined =>
  v === undefined ? undefined : ctx.sub(String(v));
