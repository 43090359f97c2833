/**
 * The `find` check: exactly one (or `count`) namespace/link matches; binds `${as}`.
 *
 * In checks.yaml: `find: netns\|link`, `match`, `where: {master, kind, up}`, `as`, `count`.
 * @module
 */
import { link, netns } from "../../iproute2/mod.ts";
import type { CheckSpec } from "../exercise.ts";
import { type CheckContext, type CheckResult, str } from "./_kind.ts";
import { describePattern, inNs, ipCmd, linkDifferences, listing, where } from "./_helpers.ts";

export async function findCheck(spec: CheckSpec, ctx: CheckContext): Promise<CheckResult[]> {
  const what = String(spec.find);
  const re = new RegExp(ctx.sub(String(spec.match)));
  const ns = str(ctx, spec.netns);
  const want = spec.count === undefined ? 1 : Number(spec.count);
  const command = what === "netns" ? "ip -json netns list" : ipCmd("-json link show", ns);
  const filter = Object.entries((spec.where ?? {}) as Record<string, unknown>)
    .map(([k, v]) => [k, typeof v === "string" ? ctx.sub(v) : v] as const);
  const links = what === "netns" ? [] : await link.list(where(ns));
  const fits = (l: unknown) => filter.every(([k, v]) => (l as Record<string, unknown>)[k] === v);
  const names = what === "netns" ? (await netns.list()).map((n) => n.name) : links
    .filter(fits)
    .map((l) => l.name);
  const found = names.filter((n) => re.test(n));
  const name = spec.name ?? `${want === 1 ? "one" : want} ${what} named like /${re.source}/`;
  if (found.length === want) {
    if (spec.as && found.length === 1) ctx.vars[String(spec.as)] = found[0];
    return [{ name, command, status: "pass" }];
  }
  const like = describePattern(re.source);
  const wanted = Object.fromEntries(filter);
  const thing = what === "netns" ? "namespace" : String(wanted.kind ?? "link");
  const expectText = `${want} ${thing}${want === 1 ? "" : "s"} named ${like} expected${
    wanted.master ? ` on ${wanted.master}` : ""
  }${inNs(ns)}${wanted.up === true ? " (up)" : ""}`;
  let observed: string;
  if (found.length > want) {
    observed = `${expectText}: ${listing(found)} ${found.length === 1 ? "exists" : "exist"}`;
  } else {
    // near misses: named right (and of the right kind) but not as wanted, or as wanted but named otherwise
    const named = links.filter((l) =>
      re.test(l.name) && !fits(l) && (!wanted.kind || l.kind === wanted.kind)
    );
    const unnamed = links.filter((l) => !re.test(l.name) && fits(l) && filter.length > 0);
    const misses = [
      ...named.map((l) =>
        `${l.name} exists but ${listing(linkDifferences(l as unknown as Record<string, unknown>, wanted))}`
      ),
      ...unnamed.map((l) => `${l.name} fits but is not named ${like}`),
    ];
    if (found.length === 0 && misses.length === 0) {
      observed = filter.length
        ? `${expectText}: there is none`
        : `there is no ${thing} named ${like}${inNs(ns)}`;
    } else {
      observed = `${expectText}: ${found.length ? `only ${listing(found)}` : misses.join("; ")}`;
      if (found.length && misses.length) observed += `; ${misses.join("; ")}`;
    }
  }
  return [{
    name,
    command,
    status: "fail",
    expected: `${want} match${want === 1 ? "" : "es"}`,
    actual: found.length === 0 ? "none" : found.join(", "),
    observed,
    hint: spec.hint,
  }];
}
