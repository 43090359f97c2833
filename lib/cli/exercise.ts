/**
 * `cnilab exercise`: self-check exercises for workshops (list, start, check, hint, hints, solve, reset), the
 * instructor's `report` and `collect`, and `networks`, which shows what containerd's CNI config discovery
 * loads (the command the config checks name).
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { type CheckResult, runChecks, verdictOf } from "../exercise/checks.ts";
import {
  type Exercise,
  ExerciseError,
  listExercises,
  loadExercise,
  resetExercise,
  solveExercise,
  started,
  startExercise,
} from "../exercise/mod.ts";
import {
  begun,
  hintsShown,
  hintsTaken,
  markBegun,
  nextHint,
  recordCheck,
  updateProgress,
} from "../exercise/progress.ts";
import { type Status, statusCode, statusOf } from "../exercise/report.ts";
import { type Column, indent, reflow, renderTable, terminalWidth } from "../exercise/table.ts";
import { type Command, Exit, UsageError } from "./command.ts";
import { requireRoot } from "./env.ts";
import { collect, report } from "./exercise-class.ts";

const USAGE = `usage:
  cnilab exercise list [--json]
  cnilab exercise start <id>        prepare the starting state, print the task
  cnilab exercise check <id>|all [--explain] [--json]
  cnilab exercise hint <id>         the next hint ("hint 2 of 4"), remembered
  cnilab exercise hints <id>        every hint taken so far, again, in order
  cnilab exercise solve <id> [ARG]  run the reference solution (own-plugin: ts)
  cnilab exercise reset <id>|all    remove what the exercise and your attempt
                                    created, and nothing else
  cnilab exercise report [--name NAME] [--format table|json|csv|junit]
                         [--out FILE]
                                    your results, for the instructor (the name:
                                    --name or CNILAB_ATTENDEE)
  cnilab exercise collect DIR [--format table|csv] [--out FILE]
                                    the class table of the reports in DIR
  cnilab exercise networks (--conf-dir DIR [--max-conf-num N] |
                            --containerd-config FILE)
                                    the networks containerd's CRI would load

check says what it observed, never how to fix it: per check ✓/✗ and what it
proves, on a failure what it found and the command it looked at. Commands to
type come from 'hint' and 'check --explain' only. A troubleshooting exercise
shows its first failing check. Exit codes: 0 passed, 1 not yet or not started,
2 could not check (what the exercise needs is broken or not started).

Exercises are folders under exercises/<id>/ (task.md, hints.md, checks.yaml,
solution.sh, setup.sh). Adding one: the README's exercise section; collecting a
class's results: docs/exercises.md.`;

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

/** What a failing check found, in words (older code checks only set `actual`). */
function observation(r: CheckResult): string {
  if (r.observed) return r.observed;
  if (r.status === "broken") return `could not check: ${r.actual ?? "?"}`;
  return r.actual ? `found ${r.actual}` : "not passing";
}

/** One check: the mark and name, then (unless it passed) what it observed and the command that looked. */
function formatOne(r: CheckResult, width: number, explain: boolean): string[] {
  const lines = [indent(r.name, width, `${MARK[r.status]} `, "  ")];
  const sub = (text: string, lead = "") => lines.push(indent(text, width, `    ${lead}`, "      "));
  if (r.status !== "pass") {
    sub(r.status === "broken" ? `could not check: ${r.observed ?? r.actual ?? "?"}` : observation(r));
  }
  if (r.command !== "-" && (r.status !== "pass" || explain)) sub(r.command, "$ ");
  if (explain && r.status === "fail" && r.expected) sub(`expected: ${r.expected}`);
  // how to get on: always for "could not check" (reset and start again), otherwise only when asked
  if (r.hint && (r.status === "broken" || (explain && r.status !== "pass"))) sub(`hint: ${r.hint}`);
  return lines;
}

/**
 * The check's lines. A troubleshooting exercise shows how many checks pass, its first check not passing
 * and how many more do not pass yet, so that one check does not list every planted fault.
 */
export function formatResults(
  results: CheckResult[],
  opts: { troubleshooting?: boolean; explain?: boolean; width?: number } = {},
): string {
  const width = opts.width ?? terminalWidth();
  const explain = opts.explain ?? false;
  if (!opts.troubleshooting) return results.flatMap((r) => formatOne(r, width, explain)).join("\n");
  const passing = results.filter((r) => r.status === "pass");
  const rest = results.filter((r) => r.status !== "pass");
  const lines: string[] = [];
  if (passing.length) lines.push(`✓ ${passing.length} check${passing.length === 1 ? "" : "s"} pass`);
  if (rest.length) lines.push(...formatOne(rest[0], width, explain));
  if (rest.length > 1) {
    lines.push(`  ${rest.length - 1} more check${rest.length === 2 ? "" : "s"} not passing yet`);
  }
  return lines.join("\n");
}

interface Checked {
  id: string;
  status: Status;
  code: number;
  started: boolean;
  checks: CheckResult[];
}

/** The JSON of one exercise's check (hints only with --explain: they may name commands). */
function checkJson(c: Checked, explain: boolean) {
  return {
    id: c.id,
    verdict: c.status,
    code: c.code,
    started: c.started,
    checks: c.checks.map((r) => (explain || r.status === "broken" ? r : { ...r, hint: undefined })),
  };
}

function stuckLines(ex: Exercise, width: number): string {
  const shown = hintsShown(ex);
  const lines = [];
  if (shown < ex.hints.length) {
    lines.push(`next hint: cnilab exercise hint ${ex.id} (${shown + 1} of ${ex.hints.length})`);
  } else if (ex.hints.length) lines.push(`hints taken again: cnilab exercise hints ${ex.id}`);
  lines.push(`what each check expects: cnilab exercise check ${ex.id} --explain`);
  return lines.map((l) => indent(l, width, "", "  ")).join("\n");
}

async function check(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { json: { type: "boolean" }, explain: { type: "boolean" } },
  });
  requireRoot();
  const explain = values.explain ?? false;
  const all = positionals[0] === "all";
  const exercises = all ? listExercises() : [load(positionals[0])];
  const checked: Checked[] = [];
  for (const ex of exercises) {
    let status: Status;
    let results: CheckResult[];
    if (all) ({ status, results } = await statusOf(ex));
    else {
      // checking one exercise is working on it: it counts as begun (unless its start is still missing)
      if (!ex.setup || started(ex)) await markBegun(ex);
      results = await runChecks(ex);
      status = verdictOf(results).verdict;
      if (begun(ex)) await recordCheck(ex, status, results);
    }
    checked.push({
      id: ex.id,
      status,
      code: statusCode(status),
      started: begun(ex) || started(ex),
      checks: results,
    });
  }
  const code = Math.max(0, ...checked.map((c) => c.code));
  if (values.json) {
    const out = checked.map((c) => checkJson(c, explain));
    console.log(JSON.stringify(all ? { exercises: out } : out[0], null, 2));
    return code;
  }
  const width = terminalWidth();
  for (const c of checked) {
    const ex = exercises.find((e) => e.id === c.id)!;
    if (c.status === "not started" && all) continue;
    console.log(indent(`${ex.id} (${ex.section} ${ex.title})`, width, ""));
    console.log(formatResults(c.checks, { troubleshooting: ex.troubleshooting, explain, width }));
    const passed = c.checks.filter((r) => r.status === "pass").length;
    const verdict = c.status === "not started" ? verdictOf(c.checks).verdict : c.status;
    console.log(`verdict: ${verdict} (${passed}/${c.checks.length} checks passed)`);
    if (verdict !== "passed" && !explain) console.log(stuckLines(ex, width));
    console.log("");
  }
  if (all) {
    console.log(renderTable(checked, [
      { header: "EXERCISE", value: (c) => c.id },
      { header: "STATUS", value: (c) => c.status },
      {
        header: "CHECKS",
        value: (
          c,
        ) => (c.checks.length
          ? `${c.checks.filter((r) => r.status === "pass").length}/${c.checks.length}`
          : "-"),
        align: "right",
        drop: 1,
      },
    ], width));
  }
  return code;
}

function hints(id: string | undefined): number {
  const ex = load(id);
  const taken = hintsTaken(ex);
  if (taken.length === 0) {
    console.log(`no hints taken yet for ${ex.id}; 'cnilab exercise hint ${ex.id}' shows the first`);
    return Exit.Ok;
  }
  const width = terminalWidth();
  console.log(
    taken.map((h) => `hint ${h.n} of ${h.of} (taken ${h.at.slice(11, 19)} UTC):\n\n${reflow(h.text, width)}`)
      .join("\n\n"),
  );
  if (taken.length < ex.hints.length) {
    console.log(`\n${ex.hints.length - taken.length} more: 'cnilab exercise hint ${ex.id}'`);
  }
  return Exit.Ok;
}

function list(args: string[]): number {
  const { values } = parseArgs({ args, options: { json: { type: "boolean" } } });
  const exercises = listExercises();
  if (values.json) {
    console.log(JSON.stringify(
      exercises.map((e) => ({
        id: e.id,
        section: e.section,
        title: e.title,
        summary: e.summary,
        started: started(e) || begun(e),
        troubleshooting: e.troubleshooting,
      })),
      null,
      2,
    ));
    return Exit.Ok;
  }
  const columns: Column<Exercise>[] = [
    { header: "SECTION", value: (e) => e.section },
    { header: "ID", value: (e) => e.id },
    { header: "TITLE: WHAT YOU DO", value: (e) => `${e.title}: ${e.summary}`, wrap: true, min: 24, drop: 1 },
  ];
  console.log(renderTable(exercises, columns));
  return Exit.Ok;
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
  summary: "workshop exercises: self-checks, hints, a report for the class",
  usage: USAGE,
  async run(argv) {
    const [sub, ...rest] = argv;
    try {
      switch (sub) {
        case "list":
        case "ls":
          return list(rest);
        case "start": {
          const ex = load(rest[0]);
          requireRoot();
          const { task, setupOutput } = await startExercise(ex);
          await markBegun(ex);
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
                : `all ${ex.hints.length} hints taken: 'cnilab exercise hints ${ex.id}' shows them again; ` +
                  `the reference solution is ${ex.solution}`,
            );
            return Exit.Ok;
          }
          console.log(
            `hint ${hint.n} of ${hint.of} for ${ex.id}:\n\n${reflow(hint.text, terminalWidth())}`,
          );
          return Exit.Ok;
        }
        case "hints":
          return hints(rest[0]);
        case "solve": {
          const ex = load(rest[0]);
          requireRoot();
          const out = await solveExercise(ex, rest.slice(1));
          await updateProgress(ex, (p) => {
            p.startedAt ??= new Date().toISOString();
            p.solvedAt ??= new Date().toISOString();
          });
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
        case "report":
          return await report(rest);
        case "collect":
          return await collect(rest);
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
