/**
 * `cnilab exercise`: self-check exercises for workshops (list, start, check, hint, solve, reset), plus
 * `networks`, which shows what containerd's CNI config discovery loads (the command the checks name).
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { type CheckResult, runChecks, verdictOf } from "../exercise/checks.ts";
import {
  type Exercise,
  ExerciseError,
  hintsShown,
  listExercises,
  loadExercise,
  nextHint,
  resetExercise,
  solveExercise,
  started,
  startExercise,
} from "../exercise/mod.ts";
import { type Command, Exit, UsageError } from "./command.ts";
import { requireRoot } from "./env.ts";

const USAGE = `Usage:
  cnilab exercise list [--json]
  cnilab exercise start <id>      prepare the starting state (if any) and print the task
  cnilab exercise check <id>|all [--json]
  cnilab exercise hint <id>       show the next hint (remembered per exercise)
  cnilab exercise solve <id>      run the reference solution
  cnilab exercise reset <id>|all  remove everything the exercise and your attempt created, and nothing else
  cnilab exercise networks (--conf-dir DIR [--max-conf-num N] | --containerd-config FILE)
                                  the networks containerd's CRI would load (what the config checks read)

check prints one line per check: ✓/✗, what it proves, the command it looked at (run it yourself), expected
vs actual and a hint on failure. Exit codes: 0 passed, 1 not yet, 2 could not check (the environment the
exercise needs is broken or not started; the line says what). 'check all --json' is for a class dashboard.

Exercises are plain files under exercises/<id>/ (task.md, hints.md, checks.yaml, solution.sh, setup.sh);
see the README, "How an instructor adds an exercise", to add one.`;

function load(id: string | undefined): Exercise {
  if (!id) throw new UsageError("which exercise? run 'cnilab exercise list'");
  try {
    return loadExercise(id);
  } catch (error) {
    if (error instanceof ExerciseError) throw new UsageError(error.message);
    throw error;
  }
}

const MARK: Record<CheckResult["status"], string> = { pass: "✓", fail: "✗", broken: "?", skip: "-" };

/** One line per check (and an indented hint when it fails). */
export function formatResults(results: CheckResult[]): string {
  const lines: string[] = [];
  for (const r of results) {
    let line = `${MARK[r.status]} ${r.name}`;
    if (r.status === "fail") line += `: expected ${r.expected ?? "?"}, got ${r.actual ?? "?"}`;
    if (r.status === "broken") line += `: could not check: ${r.actual ?? "?"}`;
    if (r.status === "skip") line += ` (${r.actual})`;
    if (r.command !== "-") line += `   $ ${r.command}`;
    lines.push(line);
    if (r.hint && r.status !== "pass") lines.push(`    hint: ${r.hint}`);
  }
  return lines.join("\n");
}

async function checkOne(
  ex: Exercise,
): Promise<{ id: string; verdict: string; code: number; started: boolean; checks: CheckResult[] }> {
  const checks = await runChecks(ex);
  const { verdict, code } = verdictOf(checks);
  return { id: ex.id, verdict, code, started: started(ex), checks };
}

async function check(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { json: { type: "boolean" } },
  });
  requireRoot();
  const all = positionals[0] === "all";
  const exercises = all ? listExercises() : [load(positionals[0])];
  const reports = [];
  for (const ex of exercises) reports.push(await checkOne(ex));
  const code = Math.max(0, ...reports.map((r) => r.code));
  if (values.json) {
    console.log(JSON.stringify(all ? { exercises: reports } : reports[0], null, 2));
    return code;
  }
  for (const r of reports) {
    const ex = exercises.find((e) => e.id === r.id)!;
    console.log(`${ex.id} (${ex.section} ${ex.title})`);
    console.log(formatResults(r.checks));
    const passed = r.checks.filter((c) => c.status === "pass").length;
    console.log(`verdict: ${r.verdict} (${passed}/${r.checks.length} checks passed)\n`);
  }
  if (all) {
    for (const r of reports) console.log(`${r.id.padEnd(24)} ${r.verdict}`);
  }
  return code;
}

async function networks(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      "conf-dir": { type: "string" },
      "max-conf-num": { type: "string" },
      "containerd-config": { type: "string" },
    },
  });
  const { loadConfDir, readContainerdConfig } = await import("../runtime/mod.ts");
  let confDir = values["conf-dir"];
  let max = values["max-conf-num"] === undefined ? undefined : Number(values["max-conf-num"]);
  if (values["containerd-config"]) {
    const s = readContainerdConfig(values["containerd-config"]);
    console.log(`[${s.section ?? "no [cni] table: containerd's defaults"}]`);
    console.log(`  bin_dirs     = ${JSON.stringify(s.binDirs)}`);
    console.log(`  conf_dir     = ${JSON.stringify(s.confDir)}`);
    console.log(`  max_conf_num = ${s.maxConfNum}`);
    confDir ??= s.confDir;
    max ??= s.maxConfNum;
  }
  if (!confDir) throw new UsageError("networks needs --conf-dir DIR or --containerd-config FILE");
  try {
    const lists = loadConfDir(confDir, { maxConfNum: max ?? 1 });
    console.log(`loaded from ${confDir} (max_conf_num ${max ?? 1}), in order:`);
    lists.forEach((l, i) =>
      console.log(
        `  eth${i}: network ${l.name} from ${l.file} (plugins: ${l.plugins.map((p) => p.type).join(", ")})`,
      )
    );
  } catch (error) {
    throw new UsageError((error as Error).message, Exit.CheckFailed);
  }
  return Exit.Ok;
}

/** `cnilab exercise` */
export const exercise: Command = {
  name: "exercise",
  summary: "workshop exercises with self-checks: list, start, check, hint, solve, reset",
  usage: USAGE,
  async run(argv) {
    const [sub, ...rest] = argv;
    try {
      switch (sub) {
        case "list":
        case "ls": {
          const { values } = parseArgs({ args: rest, options: { json: { type: "boolean" } } });
          const list = listExercises();
          if (values.json) {
            console.log(JSON.stringify(
              list.map((e) => ({
                id: e.id,
                section: e.section,
                title: e.title,
                summary: e.summary,
                started: started(e),
              })),
              null,
              2,
            ));
          } else {
            for (const e of list) console.log(`${e.section}  ${e.id.padEnd(20)} ${e.title}: ${e.summary}`);
          }
          return Exit.Ok;
        }
        case "start": {
          const ex = load(rest[0]);
          requireRoot();
          const { task, setupOutput } = await startExercise(ex);
          if (setupOutput.trim()) console.log(setupOutput.trimEnd() + "\n");
          console.log(`# ${ex.section} ${ex.title}\n\n${task}`);
          console.log(
            `Check your work: cnilab exercise check ${ex.id}    Stuck? cnilab exercise hint ${ex.id}`,
          );
          return Exit.Ok;
        }
        case "check":
          return await check(rest);
        case "hint": {
          const ex = load(rest[0]);
          requireRoot();
          const hint = await nextHint(ex);
          if (!hint) {
            console.log(
              ex.hints.length === 0
                ? `${ex.id} has no hints`
                : `all ${ex.hints.length} hints shown (${
                  hintsShown(ex)
                }); the reference solution is ${ex.solution}`,
            );
            return Exit.Ok;
          }
          console.log(`hint ${hint.n}/${hint.of} for ${ex.id}:\n\n${hint.text}`);
          return Exit.Ok;
        }
        case "solve": {
          const ex = load(rest[0]);
          requireRoot();
          const out = await solveExercise(ex);
          if (out.trim()) console.log(out.trimEnd());
          console.log(`solved with ${ex.solution}; run 'cnilab exercise check ${ex.id}'`);
          return Exit.Ok;
        }
        case "reset": {
          requireRoot();
          const targets = rest[0] === "all" ? listExercises() : [load(rest[0])];
          for (const ex of targets) {
            const removed = await resetExercise(ex);
            if (removed.length === 0) console.log(`${ex.id}: nothing to remove`);
            else {console.log(`${ex.id}: removed ${removed.length}:\n${
                removed.map((r) => `  ${r}`).join("\n")
              }`);}
          }
          return Exit.Ok;
        }
        case "networks":
          return await networks(rest);
        default:
          throw new UsageError(`unknown exercise command ${sub ?? "(none)"}; see 'cnilab exercise --help'`);
      }
    } catch (error) {
      if (error instanceof ExerciseError) throw new UsageError(error.message);
      throw error;
    }
  },
};

if (import.meta.main) process.exitCode = await exercise.run(process.argv.slice(2));
