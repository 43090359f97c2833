/**
 * The `route` check: a route.
 *
 * In checks.yaml: `route: DST`, `netns`, `via`, `dev`.
 * @module
 */
import { route } from "../../iproute2/mod.ts";
import type { CheckSpec } from "../exercise.ts";
import { type CheckContext, type CheckResult, str } from "./_kind.ts";
import { ipCmd, nsMissing, where } from "./_helpers.ts";

export async function routeCheck(spec: CheckSpec, ctx: CheckContext): Promise<CheckResult[]> {
  const dst = str(ctx, spec.route)!;
  const ns = str(ctx, spec.netns);
  const command = ipCmd("-json route show", ns);
  const via = str(ctx, spec.via);
  const dev = str(ctx, spec.dev);
  const title = spec.name ??
    `${ns ? `${ns}: ` : ""}route ${dst}${via ? ` via ${via}` : ""}${dev ? ` dev ${dev}` : ""}`;
  const missing = await nsMissing(ns, title, command);
  if (missing) return [missing];
  const routes = await route.list(where(ns));
  const ok = routes.some((r) => r.dst === dst && (!via || r.via === via) && (!dev || r.dev === dev));
  const text = routes.map((r) =>
    [r.dst, r.via && `via ${r.via}`, r.dev && `dev ${r.dev}`].filter(Boolean).join(" ")
  );
  return [
    ok ? { name: title, command, status: "pass" } : {
      name: title,
      command,
      status: "fail",
      expected: [dst, via && `via ${via}`, dev && `dev ${dev}`].filter(Boolean).join(" "),
      actual: text.length ? text.join("; ") : "no routes",
      observed: text.length
        ? `${ns ?? "the host"} has no route ${
          [dst, via && `via ${via}`, dev && `dev ${dev}`].filter(Boolean).join(" ")
        } (its routes: ${text.join("; ")})`
        : `${ns ?? "the host"} has no routes`,
      hint: spec.hint,
    },
  ];
}
