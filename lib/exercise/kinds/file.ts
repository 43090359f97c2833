/**
 * The `file` check: a file.
 *
 * In checks.yaml: `file: PATH`, `exists`, `executable`, `contains`, `line`, `json: {a.b: value}`, `same_as: PATH`.
 * @module
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import type { CheckSpec } from "../exercise.ts";
import { type CheckContext, type CheckResult, compare, show, str } from "./_kind.ts";
import { dig, jqPath } from "./_helpers.ts";

export function fileCheck(spec: CheckSpec, ctx: CheckContext): Promise<CheckResult[]> {
  const path = str(ctx, spec.file)!;
  const exists = existsSync(path);
  const wantExists = spec.exists === undefined ? true : Boolean(spec.exists);
  const title = spec.name ?? `${path} ${wantExists ? "exists" : "is gone"}`;
  if (!wantExists || !exists) {
    return Promise.resolve([
      compare(
        title,
        `ls -l ${path}`,
        exists ? "exists" : "absent",
        wantExists ? "exists" : "absent",
        spec.hint,
        exists ? `${path} still exists` : `${path} does not exist`,
      ),
    ]);
  }
  const out: CheckResult[] = [];
  if (spec.executable) {
    const mode = statSync(path).mode;
    const isFile = statSync(path).isFile();
    out.push(
      compare(
        title,
        `ls -l ${path}`,
        isFile && (mode & 0o111) !== 0 ? "executable" : "not executable",
        "executable",
        spec.hint,
        isFile ? `${path} is not executable` : `${path} is not a regular file`,
      ),
    );
  }
  const text = spec.contains === undefined && spec.json === undefined && spec.same_as === undefined &&
      spec.line === undefined
    ? ""
    : readFileSync(path, "utf8");
  if (spec.line !== undefined) {
    const want = ctx.sub(String(spec.line));
    // the observation names the line's key, never its value: the value may be what the task asks to find
    const key = /^[^=:]*[=:]/.exec(want)?.[0];
    const keyed = key ? text.split("\n").filter((l) => l.startsWith(key)) : [];
    out.push(
      compare(
        title,
        `grep -x '${want}' ${path}`,
        text.split("\n").includes(want) ? want : "no such line",
        want,
        spec.hint,
        key
          ? keyed.length ? `${keyed.join(", ")} in ${path} is not right` : `${path} has no line ${key}…`
          : `${path} lacks the line it needs`,
      ),
    );
  }
  if (spec.contains !== undefined) {
    const want = ctx.sub(String(spec.contains));
    out.push(
      text.includes(want) ? { name: title, command: `cat ${path}`, status: "pass" } : {
        name: title,
        command: `cat ${path}`,
        status: "fail",
        expected: `text containing ${JSON.stringify(want)}`,
        actual: JSON.stringify(text.slice(0, 160)),
        observed: `${path} does not contain ${want}`,
        hint: spec.hint,
      },
    );
  }
  if (spec.same_as !== undefined) {
    const other = ctx.sub(String(spec.same_as));
    const same = existsSync(other) && readFileSync(other, "utf8") === text;
    out.push(
      compare(
        title,
        `cmp ${path} ${other}`,
        same ? "unchanged" : "changed",
        "unchanged",
        spec.hint,
        `${path} differs from the copy taken at start (${other})`,
      ),
    );
  }
  if (spec.json !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      return Promise.resolve([{
        name: title,
        command: `jq . ${path}`,
        status: "fail",
        expected: "valid JSON",
        actual: (error as Error).message,
        observed: `${path} is not valid JSON: ${(error as Error).message}`,
        hint: spec.hint,
      }]);
    }
    for (const [key, want] of Object.entries(spec.json as Record<string, unknown>)) {
      const expected = typeof want === "string" ? ctx.sub(want) : want;
      const found = dig(parsed, key);
      out.push(
        compare(
          `${title}: ${jqPath(key)} is ${show(expected)}`,
          `jq '${jqPath(key)}' ${path}`,
          found,
          expected,
          spec.hint,
          found === undefined
            ? `${path} has no ${jqPath(key)}`
            : `${jqPath(key)} in ${path} is ${show(found)}`,
        ),
      );
    }
  }
  return Promise.resolve(out.length ? out : [{ name: title, command: `ls -l ${path}`, status: "pass" }]);
}
