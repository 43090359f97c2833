/**
 * The `require` check: something the exercise needs exists, else "could not check" (`because:` says why).
 *
 * In checks.yaml: `require: PATH`, `because` (./require-link.ts is the same for a link).
 * @module
 */
import { existsSync } from "node:fs";
import type { CheckSpec } from "../exercise.ts";
import { type CheckContext, type CheckResult, str } from "./_kind.ts";

export function requireCheck(spec: CheckSpec, ctx: CheckContext): Promise<CheckResult[]> {
  const path = str(ctx, spec.require)!;
  const ok = existsSync(path);
  return Promise.resolve([{
    name: spec.name ?? `${path} exists`,
    command: `ls -ld ${path}`,
    status: ok ? "pass" : "broken",
    actual: ok ? undefined : `${path} is missing${spec.because ? `: ${ctx.sub(String(spec.because))}` : ""}`,
    hint: ok
      ? undefined
      : `run 'cnilab exercise reset ${ctx.ex.id}' then 'cnilab exercise start ${ctx.ex.id}'`,
  }]);
}
