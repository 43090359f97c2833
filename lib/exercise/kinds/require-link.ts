/**
 * The `require_link` check: something the exercise needs exists, else "could not check" (`because:` says why).
 *
 * In checks.yaml: `require_link: NAME`, `because`.
 * @module
 */
import { link } from "../../iproute2/mod.ts";
import type { CheckSpec } from "../exercise.ts";
import { type CheckContext, type CheckResult, str } from "./_kind.ts";
import { ipCmd } from "./_helpers.ts";

export async function requireLinkCheck(spec: CheckSpec, ctx: CheckContext): Promise<CheckResult[]> {
  const name = str(ctx, spec.require_link)!;
  const ok = (await link.get(name)) !== undefined;
  return [{
    name: spec.name ?? `link ${name} exists`,
    command: ipCmd(`link show ${name}`),
    status: ok ? "pass" : "broken",
    actual: ok
      ? undefined
      : `link ${name} is missing${spec.because ? `: ${ctx.sub(String(spec.because))}` : ""}`,
    hint: ok
      ? undefined
      : `run 'cnilab exercise reset ${ctx.ex.id}' then 'cnilab exercise start ${ctx.ex.id}'`,
  }];
}
