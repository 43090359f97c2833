/**
 * The checks of an exercise: each reads the real state (through lib/iproute2, the files, the CNI runtime's
 * own config discovery, the sandbox runtime's state) and says what it looked at as a command the attendee
 * can run by hand. Declarative kinds, one key each, as written in checks.yaml:
 *
 * | key | what it checks |
 * |---|---|
 * | `require: PATH` / `require_link: NAME` | something the exercise needs exists, else "could not check" (`because:` says why) |
 * | `process: PID`, `alive` | a process runs (or, with `alive: false`, is gone; a zombie counts as gone) |
 * | `read: FILE`, `as` | a JSON file the exercise wrote (else "could not check"); binds `${as.key}` |
 * | `find: netns\|link`, `match`, `where: {master, kind, up}`, `as`, `count` | exactly one (or `count`) namespace/link matches; binds `${as}` |
 * | `link: NAME`, `netns`, `expect: {kind, up, master}` | a link's properties |
 * | `addr: DEV`, `netns`, `has: CIDR` or `in: SUBNET`, `as` | an address on a link |
 * | `route: DST`, `netns`, `via`, `dev` | a route |
 * | `ping: ADDR`, `from: NETNS` | one echo reply (only to loopback or inside the exercise's own objects) |
 * | `file: PATH`, `exists`, `executable`, `contains`, `line`, `json: {a.b: value}`, `same_as: PATH` | a file |
 * | `files: DIR`, `match`, `count` | how many entries of a directory match |
 * | `run: [argv]`, `env`, `stdin`, `exit`, `stdout_has`, `as` | a command's exit code and output |
 * | `conf: DIR`, `max_conf_num`, `names`, `expect: {a.b: value}` | the networks containerd's go-cni loads from a conf dir; fields of the first |
 * | `containerd: FILE`, `as` | a containerd config.toml's CRI `[cni]` table; binds `${as.conf_dir}` … |
 * | `plugins: DIR`, `bin_dirs`, `max_conf_num` | every plugin the loaded networks name is found and answers VERSION |
 * | `pod: NS/NAME`, `running`, `shared_netns`, `as` | a pod of `cnilab pod`; binds `${as.ip}`, `${as.netns}` … |
 * | `code: NAME` | a check written in the exercise's checks.ts |
 *
 * Each kind is one file under ./kinds/, registered by its key in ./kinds/mod.ts; this module runs them.
 *
 * Every check may carry `name` (what it proves, for people) and `hint`. A failing check reports what it
 * observed (`observed`: "eth0 in cni-exw-… has no address"), never how to fix it: the check's `hint` (which
 * may name commands) is shown only by `check --explain`, and the exercise's hints by `cnilab exercise hint`.
 * @module
 */
import { type CheckSpec, type Exercise, started, substitute } from "./exercise.ts";
import type { CheckContext, CheckResult } from "./kinds/_kind.ts";
import { KINDS } from "./kinds/mod.ts";

export { compare } from "./kinds/_kind.ts";
export type { CheckContext, CheckResult, CodeCheck } from "./kinds/_kind.ts";

/** The three verdicts, with their exit codes. */
export type Verdict = "passed" | "not yet" | "could not check";

/** The verdict of a set of results, and its exit code (0 passed, 1 not yet, 2 could not check). */
export function verdictOf(results: CheckResult[]): { verdict: Verdict; code: 0 | 1 | 2 } {
  if (results.some((r) => r.status === "broken")) return { verdict: "could not check", code: 2 };
  if (results.some((r) => r.status !== "pass")) return { verdict: "not yet", code: 1 };
  return { verdict: "passed", code: 0 };
}

/** The kinds' keys, in the order a spec's keys are tried. */
const CHECK_KINDS = Object.keys(KINDS);

function kindOf(spec: CheckSpec): string {
  const k = CHECK_KINDS.find((k) => k in spec);
  if (!k) {
    throw new Error(
      `a check with none of the known keys (${CHECK_KINDS.join(", ")}): ${JSON.stringify(spec)}`,
    );
  }
  return k;
}

/** Unbound `${var}` left in a spec after substitution (a check that an earlier failed check should have fed). */
function unbound(spec: CheckSpec, ctx: CheckContext): string[] {
  const text = ctx.sub(JSON.stringify({ ...spec, hint: undefined, name: undefined }));
  return [...text.matchAll(/\$\{([A-Za-z_][\w.]*)\}/g)].map((m) => m[1]);
}

/** Runs an exercise's checks in order. */
export async function runChecks(ex: Exercise): Promise<CheckResult[]> {
  const vars = { ...ex.vars };
  const ctx: CheckContext = { ex, vars, sub: (t) => substitute(t, vars) };
  const results: CheckResult[] = [];
  if (ex.setup && !started(ex)) {
    return [{
      name: "the exercise was started",
      command: `ls ${ex.vars.WORK}/.started`,
      status: "broken",
      actual: "not started: its starting state does not exist yet",
      hint: `run 'cnilab exercise start ${ex.id}'`,
    }];
  }
  for (const spec of ex.checks) {
    const kind = kindOf(spec);
    const missing = unbound(spec, ctx);
    if (missing.length > 0) {
      results.push({
        name: spec.name ? ctx.sub(spec.name) : `${kind} ${ctx.sub(String(spec[kind]))}`,
        command: "-",
        status: "skip",
        actual: `skipped until an earlier check passes (the one that finds ${missing.join(", ")})`,
        observed: `waits for an earlier check (the one that finds ${missing.join(", ")})`,
      });
      continue;
    }
    const named = {
      ...spec,
      name: spec.name ? ctx.sub(spec.name) : undefined,
      hint: spec.hint ? ctx.sub(spec.hint) : undefined,
    };
    try {
      results.push(...await KINDS[kind](named, ctx));
    } catch (error) {
      results.push({
        name: named.name ?? kind,
        command: "-",
        status: "broken",
        actual: `the check itself failed: ${(error as Error).message}`,
      });
    }
  }
  return results;
}
