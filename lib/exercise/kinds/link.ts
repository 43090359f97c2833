/**
 * The `link` check: a link's properties.
 *
 * In checks.yaml: `link: NAME`, `netns`, `expect: {kind, up, master}`.
 * @module
 */
import { link } from "../../iproute2/mod.ts";
import type { CheckSpec } from "../exercise.ts";
import { type CheckContext, type CheckResult, compare, str } from "./_kind.ts";
import { inNs, ipCmd, linkDifferences, listing, nsMissing, where } from "./_helpers.ts";

export async function linkCheck(spec: CheckSpec, ctx: CheckContext): Promise<CheckResult[]> {
  const name = str(ctx, spec.link)!;
  const ns = str(ctx, spec.netns);
  const command = ipCmd(`-json -details link show ${name}`, ns);
  const title = spec.name ?? `${ns ? `${ns}: ` : ""}link ${name}`;
  const missing = await nsMissing(ns, title, command);
  if (missing) return [missing];
  const l = await link.get(name, where(ns));
  if (!l) {
    return [{
      name: title,
      command,
      status: "fail",
      expected: `link ${name}`,
      actual: "no such link",
      observed: `there is no link ${name}${inNs(ns)}`,
      hint: spec.hint,
    }];
  }
  const expect = (spec.expect ?? {}) as Record<string, unknown>;
  const actual: Record<string, unknown> = {};
  const wanted: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(expect)) {
    wanted[k] = typeof v === "string" ? ctx.sub(v) : v;
    actual[k] = (l as unknown as Record<string, unknown>)[k] ?? null;
  }
  const diffs = linkDifferences(l as unknown as Record<string, unknown>, wanted);
  return [compare(title, command, actual, wanted, spec.hint, `${name}${inNs(ns)} ${listing(diffs)}`)];
}
