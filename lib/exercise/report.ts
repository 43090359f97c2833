/**
 * What an instructor collects: one attendee's report (every exercise's status, checks passing and failing,
 * hints used, time from start to pass) as JSON, CSV or JUnit XML, and a class table merged from the reports
 * copied off the attendees' machines. JUnit (one testsuite per exercise, one testcase per check) is what
 * graders and CI dashboards read; it is written with junit-report-builder, the CSV with csv-stringify and
 * read back with csv-parse.
 * @module
 */
import { readdirSync, readFileSync } from "node:fs";
import { hostname } from "node:os";
import { parse as parseCsv } from "csv-parse/sync";
import { stringify as stringifyCsv } from "csv-stringify/sync";
import junitModule from "junit-report-builder";
import type { Builder } from "junit-report-builder";
import { type CheckResult, runChecks, type Verdict, verdictOf } from "./checks.ts";
import { type Exercise, started } from "./exercise.ts";
import { begun, counts, readProgress, recordCheck, secondsToPass } from "./progress.ts";

// junit-report-builder is CommonJS: Bun hands its default export, Deno the module object holding it
const junitExports = junitModule as unknown as Builder & { default?: Builder };
const junit: Builder = junitExports.default ?? junitExports;

/** An exercise's status: a verdict of its checks, or "not started" (never begun, nothing of it found). */
export type Status = "not started" | Verdict;

/** Exit code of a status: 0 passed, 1 not yet / not started, 2 could not check. */
export function statusCode(status: Status): 0 | 1 | 2 {
  return status === "passed" ? 0 : status === "could not check" ? 2 : 1;
}

/**
 * An exercise's status now. Never begun and with a starting state that was never prepared: "not started",
 * without running its checks. Never begun and without a setup: its checks run, and when none passes it is
 * "not started" too (the attendee may have solved it without `start`, then it counts). `record` keeps the
 * outcome in the exercise's progress when the exercise was begun or passed.
 */
export async function statusOf(
  ex: Exercise,
  opts: { record?: boolean } = {},
): Promise<{ status: Status; results: CheckResult[] }> {
  const wasBegun = begun(ex);
  if (!wasBegun && ex.setup && !started(ex)) return { status: "not started", results: [] };
  const results = await runChecks(ex);
  const { verdict } = verdictOf(results);
  if (!wasBegun && !started(ex) && !results.some((r) => r.status === "pass")) {
    return { status: "not started", results };
  }
  if (opts.record !== false) await recordCheck(ex, verdict, results);
  return { status: verdict, results };
}

/** One exercise in a report. */
export interface ExerciseResult {
  id: string;
  section: string;
  title: string;
  status: Status;
  checksPassing: number;
  checksFailing: number;
  hintsUsed: number;
  hintsTotal: number;
  startedAt?: string;
  passedAt?: string;
  /** From the first start/hint/check to the first pass. */
  secondsToPass?: number;
  /** `cnilab exercise solve` ran (the reference solution, not the attendee). */
  solvedWithSolution: boolean;
  /** Each check's name, status and observation (never a hint). */
  checks: { name: string; status: CheckResult["status"]; observed?: string }[];
}

/** One attendee's report. */
export interface Report {
  format: "cnilab-exercise-report/1";
  attendee: string;
  host: string;
  createdAt: string;
  exercises: ExerciseResult[];
}

/** Runs every exercise's checks and builds the attendee's report. */
export async function buildReport(attendee: string, exercises: Exercise[]): Promise<Report> {
  const out: ExerciseResult[] = [];
  for (const ex of exercises) {
    const { status, results: ran } = await statusOf(ex);
    // what a never-started exercise's checks found is not the attendee's
    const results = status === "not started" ? [] : ran;
    const p = readProgress(ex);
    const c = counts(results);
    out.push({
      id: ex.id,
      section: ex.section,
      title: ex.title,
      status,
      checksPassing: c.passing,
      checksFailing: c.failing,
      hintsUsed: p.hints.length,
      hintsTotal: ex.hints.length,
      startedAt: p.startedAt,
      passedAt: p.passedAt,
      secondsToPass: secondsToPass(p),
      solvedWithSolution: p.solvedAt !== undefined,
      checks: results.map((r) => ({
        name: r.name,
        status: r.status,
        // a troubleshooting exercise's report, like its check, tells only the first fault it found
        observed: r.status === "pass"
          ? undefined
          : ex.troubleshooting && r !== results.find((x) => x.status !== "pass")
          ? "not passing yet"
          : r.observed ?? r.actual,
      })),
    });
  }
  return {
    format: "cnilab-exercise-report/1",
    attendee,
    host: hostname(),
    createdAt: new Date().toISOString(),
    exercises: out,
  };
}

/** The CSV's columns, one row per attendee and exercise (a report's and the class table's). */
export const CSV_COLUMNS = [
  "attendee",
  "host",
  "created_at",
  "exercise",
  "section",
  "status",
  "checks_passing",
  "checks_failing",
  "hints_used",
  "hints_total",
  "started_at",
  "passed_at",
  "seconds_to_pass",
  "solved_with_solution",
] as const;

type Row = Record<(typeof CSV_COLUMNS)[number], string>;

function rows(report: Report): Row[] {
  return report.exercises.map((e) => ({
    attendee: report.attendee,
    host: report.host,
    created_at: report.createdAt,
    exercise: e.id,
    section: e.section,
    status: e.status,
    checks_passing: String(e.checksPassing),
    checks_failing: String(e.checksFailing),
    hints_used: String(e.hintsUsed),
    hints_total: String(e.hintsTotal),
    started_at: e.startedAt ?? "",
    passed_at: e.passedAt ?? "",
    seconds_to_pass: e.secondsToPass === undefined ? "" : String(e.secondsToPass),
    solved_with_solution: e.solvedWithSolution ? "yes" : "no",
  }));
}

/** The reports as CSV (header, then one row per attendee and exercise). */
export function toCsv(reports: Report[]): string {
  return stringifyCsv(reports.flatMap(rows), { header: true, columns: [...CSV_COLUMNS] });
}

/** The report as JUnit XML: one testsuite per exercise, one testcase per check. */
export function toJunit(report: Report): string {
  const b = junit.newBuilder();
  b.name(`cnilab exercises: ${report.attendee}`);
  for (const e of report.exercises) {
    const suite = b.testSuite().name(e.id).timestamp(report.createdAt);
    if (e.secondsToPass !== undefined) suite.time(e.secondsToPass);
    suite.property("attendee", report.attendee).property("host", report.host)
      .property("title", `${e.section} ${e.title}`).property("status", e.status)
      .property("hints_used", `${e.hintsUsed} of ${e.hintsTotal}`);
    if (e.secondsToPass !== undefined) suite.property("seconds_to_pass", String(e.secondsToPass));
    if (e.solvedWithSolution) suite.property("solved_with_solution", "yes");
    if (e.checks.length === 0) {
      suite.testCase().className(e.id).name(e.status).skipped();
      continue;
    }
    for (const c of e.checks) {
      const tc = suite.testCase().className(e.id).name(c.name);
      if (c.status === "fail") tc.failure(c.observed ?? "not passing yet");
      else if (c.status === "broken") tc.error(`could not check: ${c.observed ?? "?"}`);
      else if (c.status === "skip") tc.skipped();
    }
  }
  return b.build() + "\n";
}

/** An error in a report file; the message names the file. */
export class ReportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ReportError";
  }
}

const STATUSES: Status[] = ["passed", "not yet", "could not check", "not started"];

function fromRows(rowsIn: Record<string, string>[], file: string): Report[] {
  const byAttendee = new Map<string, Report>();
  for (const r of rowsIn) {
    for (const c of ["attendee", "exercise", "status"]) {
      if (!r[c]) throw new ReportError(`${file}: a row without '${c}' (not a cnilab exercise report)`);
    }
    if (!STATUSES.includes(r.status as Status)) {
      throw new ReportError(`${file}: unknown status '${r.status}'`);
    }
    const key = `${r.attendee}\u0000${r.created_at}`;
    const report = byAttendee.get(key) ??
      {
        format: "cnilab-exercise-report/1",
        attendee: r.attendee,
        host: r.host,
        createdAt: r.created_at,
        exercises: [],
      };
    byAttendee.set(key, report);
    const num = (v: string) => (v === "" || v === undefined ? undefined : Number(v));
    report.exercises.push({
      id: r.exercise,
      section: r.section ?? "",
      title: "",
      status: r.status as Status,
      checksPassing: num(r.checks_passing) ?? 0,
      checksFailing: num(r.checks_failing) ?? 0,
      hintsUsed: num(r.hints_used) ?? 0,
      hintsTotal: num(r.hints_total) ?? 0,
      startedAt: r.started_at || undefined,
      passedAt: r.passed_at || undefined,
      secondsToPass: num(r.seconds_to_pass),
      solvedWithSolution: r.solved_with_solution === "yes",
      checks: [],
    });
  }
  return [...byAttendee.values()];
}

/** Parses a report's CSV back (csv-parse). */
export function parseCsvReports(text: string, file = "CSV"): Report[] {
  let records: Record<string, string>[];
  try {
    records = parseCsv(text, { columns: true, skip_empty_lines: true }) as Record<string, string>[];
  } catch (error) {
    throw new ReportError(`${file}: ${(error as Error).message}`);
  }
  return fromRows(records, file);
}

/** Reads one report file: `.json` (cnilab exercise report --format json) or `.csv`. */
export function readReportFile(path: string): Report[] {
  const text = readFileSync(path, "utf8");
  if (path.endsWith(".csv")) return parseCsvReports(text, path);
  let value: Partial<Report>;
  try {
    value = JSON.parse(text) as Partial<Report>;
  } catch (error) {
    throw new ReportError(`${path}: ${(error as Error).message}`);
  }
  if (value.format !== "cnilab-exercise-report/1" || typeof value.attendee !== "string") {
    throw new ReportError(`${path}: not a cnilab exercise report (no "format": "cnilab-exercise-report/1")`);
  }
  if (!Array.isArray(value.exercises)) throw new ReportError(`${path}: no "exercises" list`);
  return [value as Report];
}

/**
 * The reports in a directory (`*.json`, `*.csv`), one per attendee: when an attendee's report was copied
 * more than once, the newest counts. Files of other kinds are listed in `ignored`.
 */
export function collectReports(dir: string): { reports: Report[]; files: string[]; ignored: string[] } {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch (error) {
    throw new ReportError(
      (error as { code?: string }).code === "ENOENT"
        ? `${dir}: no such directory`
        : `${dir}: ${(error as Error).message}`,
    );
  }
  const files = names.filter((n) => n.endsWith(".json") || n.endsWith(".csv"));
  const ignored = names.filter((n) => !files.includes(n));
  const newest = new Map<string, Report>();
  for (const f of files) {
    for (const r of readReportFile(`${dir}/${f}`)) {
      const had = newest.get(r.attendee);
      if (!had || had.createdAt < r.createdAt) newest.set(r.attendee, r);
    }
  }
  const reports = [...newest.values()].sort((a, b) => a.attendee.localeCompare(b.attendee));
  return { reports, files, ignored };
}

/** `1m05s`, `42s`, `-` */
export function duration(seconds?: number): string {
  if (seconds === undefined) return "-";
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h) return `${h}h${String(m).padStart(2, "0")}m`;
  if (m) return `${m}m${String(s).padStart(2, "0")}s`;
  return `${s}s`;
}

/** The median of some numbers (undefined when there are none). */
export function median(values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  const v = [...values].sort((a, b) => a - b);
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid] : Math.round((v[mid - 1] + v[mid]) / 2);
}
