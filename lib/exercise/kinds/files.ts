/**
 * The `files` check: how many entries of a directory match.
 *
 * In checks.yaml: `files: DIR`, `match`, `count`.
 * @module
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import type { CheckSpec } from "../exercise.ts";
import { type CheckContext, type CheckResult, str } from "./_kind.ts";
import { describePattern } from "./_helpers.ts";

export function filesCheck(spec: CheckSpec, ctx: CheckContext): Promise<CheckResult[]> {
  const dir = str(ctx, spec.files)!;
  const re = new RegExp(ctx.sub(String(spec.match ?? ".")));
  const isDir = existsSync(dir) && statSync(dir).isDirectory();
  const names = isDir ? readdirSync(dir).filter((f) => re.test(f)).sort() : [];
  const want = Number(spec.count ?? 0);
  const title = spec.name ?? `${want} entr${want === 1 ? "y" : "ies"} like /${re.source}/ in ${dir}`;
  return Promise.resolve([
    names.length === want ? { name: title, command: `ls ${dir}`, status: "pass" } : {
      name: title,
      command: `ls ${dir}`,
      status: "fail",
      expected: `${want}`,
      actual: `${names.length}${names.length ? `: ${names.join(", ")}` : ""}`,
      observed: !isDir
        ? `${dir} does not exist`
        : names.length === 0
        ? `${dir} holds no entry like ${describePattern(re.source)}`
        : `${dir} holds ${names.length} like ${describePattern(re.source)}: ${names.join(", ")}`,
      hint: spec.hint,
    },
  ]);
}
