/**
 * The `plugins` check: every plugin the loaded networks name is found and answers VERSION.
 *
 * In checks.yaml: `plugins: DIR`, `bin_dirs`, `max_conf_num`.
 * @module
 */
import type { CheckSpec } from "../exercise.ts";
import { type CheckContext, type CheckResult, str } from "./_kind.ts";
import { runPiped } from "./_helpers.ts";

export async function pluginsCheck(spec: CheckSpec, ctx: CheckContext): Promise<CheckResult[]> {
  const dir = str(ctx, spec.plugins)!;
  const max = Number(str(ctx, spec.max_conf_num) ?? 1);
  const binDirs = str(ctx, spec.bin_dirs)!.split(":").filter(Boolean);
  const { loadConfDir, findInPath } = await import("../../runtime/mod.ts");
  let lists;
  try {
    lists = loadConfDir(dir, { maxConfNum: max });
  } catch (error) {
    return [{
      name: spec.name ?? `plugins of ${dir}`,
      command: `ls ${dir}`,
      status: "fail",
      expected: "a network config",
      actual: (error as Error).message,
      observed: (error as Error).message,
      hint: spec.hint,
    }];
  }
  const types = new Set<string>();
  for (const l of lists) {
    for (const p of l.plugins) {
      types.add(p.type);
      const ipam = (p as { ipam?: { type?: string } }).ipam;
      if (ipam?.type) types.add(ipam.type);
    }
  }
  const out: CheckResult[] = [];
  for (const type of types) {
    const title = `plugin '${type}' is found in ${binDirs.join(":")} and answers VERSION`;
    let path: string;
    try {
      path = findInPath(type, binDirs);
    } catch {
      out.push({
        name: title,
        command: `ls -l ${binDirs.map((d) => `${d}/${type}`).join(" ")}`,
        status: "fail",
        expected: `an executable ${type}`,
        actual: "not found",
        observed: `no executable ${type} in ${binDirs.join(":")}`,
        hint: spec.hint,
      });
      continue;
    }
    const stdin = `{"cniVersion":"${lists[0].cniVersion || "1.0.0"}"}`;
    const command = `echo '${stdin}' | CNI_COMMAND=VERSION ${path}`;
    const r = await runPiped(["timeout", "10", path], stdin, { env: { CNI_COMMAND: "VERSION" } });
    let versions: unknown;
    try {
      versions = (JSON.parse(r.stdout) as { supportedVersions?: unknown }).supportedVersions;
    } catch { /* reported below */ }
    out.push(
      r.code === 0 && Array.isArray(versions) ? { name: title, command, status: "pass" } : {
        name: title,
        command,
        status: "fail",
        expected: "exit 0 and {supportedVersions: [...]}",
        actual: `exit ${r.code}: ${(r.stdout.trim() || r.stderr.trim()).slice(0, 120)}`,
        observed: `${path} answered VERSION with exit ${r.code}${
          r.code === 0 ? " but no supportedVersions list" : ""
        }: ${(r.stdout.trim() || r.stderr.trim()).slice(0, 120) || "nothing"}`,
        hint: spec.hint,
      },
    );
  }
  return out;
}
