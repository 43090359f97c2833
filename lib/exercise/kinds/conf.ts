/**
 * The `conf` check: the networks containerd's go-cni loads from a conf dir; fields of the first.
 *
 * In checks.yaml: `conf: DIR`, `max_conf_num`, `names`, `expect: {a.b: value}`.
 * @module
 */
import type { CheckSpec } from "../exercise.ts";
import { type CheckContext, type CheckResult, compare, show, str } from "./_kind.ts";
import { dig, jqPath } from "./_helpers.ts";

export async function confCheck(spec: CheckSpec, ctx: CheckContext): Promise<CheckResult[]> {
  const dir = str(ctx, spec.conf)!;
  const max = Number(str(ctx, spec.max_conf_num) ?? 1);
  const command = `cnilab exercise networks --conf-dir ${dir} --max-conf-num ${max}`;
  const want = ((spec.names ?? []) as unknown[]).map((n) => ctx.sub(String(n)));
  const title = spec.name ??
    (want.length
      ? `containerd (max_conf_num ${max}) loads ${want.join(", ")} from ${dir}`
      : `the network containerd loads from ${dir}`);
  const { loadConfDir } = await import("../../runtime/mod.ts");
  let lists;
  try {
    lists = loadConfDir(dir, { maxConfNum: max });
  } catch (error) {
    return [{
      name: title,
      command,
      status: "fail",
      expected: want.length ? want.join(", ") : "a network config",
      actual: (error as Error).message,
      observed: (error as Error).message,
      hint: spec.hint,
    }];
  }
  const names = lists.map((c) => c.name);
  const out = want.length
    ? [
      compare(
        title,
        command,
        names.join(", "),
        want.join(", "),
        spec.hint,
        `it loads ${names.join(", ")} from ${dir}, in that order`,
      ),
    ]
    : [];
  // `expect` reads fields of the first network loaded (its file as the runtime parsed it), once it is
  // the one `names` asks for
  const first = JSON.parse(lists[0].bytes) as unknown;
  for (const [key, value] of Object.entries((spec.expect ?? {}) as Record<string, unknown>)) {
    const expected = typeof value === "string" ? ctx.sub(value) : value;
    if (want.length && names[0] !== want[0]) {
      out.push({
        name: `${want[0]}: ${jqPath(key)} is ${show(expected)}`,
        command: "-",
        status: "skip",
        actual: `skipped: the runtime does not load ${want[0]} first yet`,
        observed: `waits until the runtime loads ${want[0]} first`,
      });
      continue;
    }
    const found = dig(first, key);
    out.push(compare(
      `${names[0]}: ${jqPath(key)} is ${show(expected)}`,
      `jq '${jqPath(key)}' ${lists[0].file}`,
      found,
      expected,
      spec.hint,
      found === undefined
        ? `${lists[0].file} has no ${jqPath(key)}`
        : `${jqPath(key)} in ${lists[0].file} is ${show(found)}`,
    ));
  }
  return out;
}
