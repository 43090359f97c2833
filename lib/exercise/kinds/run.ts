/**
 * The `run` check: a command's exit code and output.
 *
 * In checks.yaml: `run: [argv]`, `env`, `stdin`, `exit`, `stdout_has`, `as`.
 * @module
 */
import { run } from "../../shell/mod.ts";
import { type CheckSpec, CNILAB } from "../exercise.ts";
import { type CheckContext, type CheckResult, str } from "./_kind.ts";
import { runPiped } from "./_helpers.ts";

export async function runCheck(spec: CheckSpec, ctx: CheckContext): Promise<CheckResult[]> {
  const argv = (spec.run as unknown[]).map((a) => ctx.sub(String(a)));
  const env = Object.fromEntries(
    Object.entries((spec.env ?? {}) as Record<string, unknown>).map(([k, v]) => [k, ctx.sub(String(v))]),
  );
  const stdin = str(ctx, spec.stdin);
  const envText = Object.entries(env).map(([k, v]) => `${k}=${v}`).join(" ");
  const quoted = argv.map((a) => (/[\s'"$;|&<>()*]/.test(a) ? `'${a.replaceAll("'", "'\\''")}'` : a)).join(
    " ",
  );
  const command = `${stdin !== undefined ? `echo '${stdin}' | ` : ""}${envText ? `${envText} ` : ""}${
    quoted.replace(CNILAB, "cnilab")
  }`;
  const title = spec.name ?? command;
  const timeoutMs = Number(spec.timeout_ms ?? 20000);
  const r = stdin === undefined
    ? await run(argv, { env, check: false, purpose: "read", timeoutMs })
    : await runPiped(["timeout", String(Math.ceil(timeoutMs / 1000)), ...argv], stdin, { env });
  const wantExit = spec.exit === undefined ? 0 : Number(spec.exit);
  if (r.code !== wantExit) {
    const said = (r.stderr.trim() || r.stdout.trim()).split("\n").slice(-2).join(" / ");
    return [{
      name: title,
      command,
      status: "fail",
      expected: `exit ${wantExit}`,
      actual: `exit ${r.code}${said ? `: ${said}` : ""}`,
      observed: `the command exited ${r.code}${said ? `: ${said}` : ""}`,
      hint: spec.hint,
    }];
  }
  if (spec.stdout_has !== undefined) {
    const want = ctx.sub(String(spec.stdout_has));
    if (!r.stdout.includes(want)) {
      return [{
        name: title,
        command,
        status: "fail",
        expected: `output containing ${JSON.stringify(want)}`,
        actual: JSON.stringify(r.stdout.trim().slice(0, 160)),
        observed: `its output ${
          r.stdout.trim() ? `(${JSON.stringify(r.stdout.trim().slice(0, 80))})` : "(none)"
        } does not contain ${JSON.stringify(want)}`,
        hint: spec.hint,
      }];
    }
  }
  if (spec.as) ctx.vars[String(spec.as)] = r.stdout.trim();
  return [{ name: title, command, status: "pass" }];
}
