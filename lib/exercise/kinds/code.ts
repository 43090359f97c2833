/**
 * The `code` check: a check written in the exercise's checks.ts.
 *
 * In checks.yaml: `code: NAME`.
 * @module
 */
import type { CheckSpec } from "../exercise.ts";
import type { CheckContext, CheckResult, CodeCheck } from "./_kind.ts";

export async function codeCheck(spec: CheckSpec, ctx: CheckContext): Promise<CheckResult[]> {
  const fnName = String(spec.code);
  if (!ctx.ex.code) throw new Error(`${ctx.ex.dir}: check 'code: ${fnName}' but no checks.ts`);
  const mod = await import(ctx.ex.code) as { checks?: Record<string, CodeCheck> };
  const fn = mod.checks?.[fnName];
  if (!fn) throw new Error(`${ctx.ex.code} exports no checks.${fnName}`);
  return await fn(ctx);
}
