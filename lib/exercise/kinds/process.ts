/**
 * The `process` check: a process runs (or, with `alive: false`, is gone; a zombie counts as gone).
 *
 * In checks.yaml: `process: PID`, `alive`.
 * @module
 */
import type { CheckSpec } from "../exercise.ts";
import { type CheckContext, type CheckResult, compare, str } from "./_kind.ts";
import { processAliveNow } from "./_helpers.ts";

export function processCheck(spec: CheckSpec, ctx: CheckContext): Promise<CheckResult[]> {
  const pid = Number(str(ctx, spec.process));
  const want = spec.alive === undefined ? true : Boolean(spec.alive);
  const alive = processAliveNow(pid);
  return Promise.resolve([compare(
    spec.name ?? `process ${pid} ${want ? "runs" : "is gone"}`,
    `ps -o pid,stat,comm -p ${pid}`,
    alive ? "running" : "gone",
    want ? "running" : "gone",
    spec.hint,
    alive ? `process ${pid} still runs` : `process ${pid} is not running`,
  )]);
}
