/**
 * The `read` check: a JSON file the exercise wrote (else "could not check"); binds `${as.key}`.
 *
 * In checks.yaml: `read: FILE`, `as`.
 * @module
 */
import { readFileSync } from "node:fs";
import type { CheckSpec } from "../exercise.ts";
import { type CheckContext, type CheckResult, str } from "./_kind.ts";

export function readCheck(spec: CheckSpec, ctx: CheckContext): Promise<CheckResult[]> {
  const file = str(ctx, spec.read)!;
  const as = String(spec.as ?? "json");
  const title = spec.name ?? `${file} is readable`;
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    return Promise.resolve([{
      name: title,
      command: `cat ${file}`,
      status: "broken",
      actual: `${file}: ${(error as Error).message}`,
      hint: `run 'cnilab exercise reset ${ctx.ex.id}' then 'cnilab exercise start ${ctx.ex.id}'`,
    }]);
  }
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (typeof v !== "object") ctx.vars[`${as}.${k}`] = String(v);
  }
  return Promise.resolve([{ name: title, command: `cat ${file}`, status: "pass" }]);
}
