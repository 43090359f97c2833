/**
 * The `containerd` check: a containerd config.toml's CRI `[cni]` table; binds `${as.conf_dir}` ….
 *
 * In checks.yaml: `containerd: FILE`, `as`.
 * @module
 */
import { existsSync } from "node:fs";
import type { CheckSpec } from "../exercise.ts";
import { type CheckContext, type CheckResult, str } from "./_kind.ts";

export async function containerdCheck(spec: CheckSpec, ctx: CheckContext): Promise<CheckResult[]> {
  const file = str(ctx, spec.containerd)!;
  const command = `cnilab exercise networks --containerd-config ${file}`;
  const title = spec.name ?? `${file} has a CRI [cni] table`;
  if (!existsSync(file)) {
    return [{
      name: title,
      command,
      status: "broken",
      actual: `${file} is missing`,
      hint: `run 'cnilab exercise reset ${ctx.ex.id}' then 'cnilab exercise start ${ctx.ex.id}'`,
    }];
  }
  const { readContainerdConfig } = await import("../../runtime/mod.ts");
  try {
    const s = readContainerdConfig(file);
    const as = String(spec.as ?? "containerd");
    ctx.vars[`${as}.conf_dir`] = s.confDir;
    ctx.vars[`${as}.bin_dirs`] = s.binDirs.join(":");
    ctx.vars[`${as}.max_conf_num`] = String(s.maxConfNum);
    return [{
      name: title,
      command,
      status: s.section ? "pass" : "fail",
      expected: "a [cni] table",
      actual: s.section ? undefined : "none (containerd's defaults)",
      observed: s.section ? undefined : `${file} has no CRI [cni] table (containerd's defaults apply)`,
      hint: spec.hint,
    }];
  } catch (error) {
    return [{
      name: title,
      command,
      status: "fail",
      expected: "a valid TOML file",
      actual: (error as Error).message,
      observed: `${file} is not valid TOML: ${(error as Error).message}`,
      hint: spec.hint,
    }];
  }
}
