/**
 * The instructor's verbs of `cnilab exercise` (exercise.ts dispatches to them): `report` (one attendee's
 * results as a table, JSON, CSV or JUnit) and `collect` (the class table from many reports).
 * @module
 */
import { writeFileSync } from "node:fs";
import process from "node:process";
import { parseArgs } from "node:util";
import { listExercises } from "../exercise/mod.ts";
import { indent, renderTable, terminalWidth } from "../exercise/table.ts";
import { Exit, UsageError } from "./command.ts";
import { requireRoot } from "./env.ts";

type ReportFormat = "table" | "json" | "csv" | "junit";

/** `--format`, or what `--out`'s extension says (.csv, .xml for JUnit, else JSON when allowed), or a table. */
function formatOf(value: string | undefined, out: string | undefined, allowed: ReportFormat[]): ReportFormat {
  if (value !== undefined) {
    if (!allowed.includes(value as ReportFormat)) {
      throw new UsageError(`--format must be one of ${allowed.join(", ")}, not '${value}'`);
    }
    return value as ReportFormat;
  }
  const byExtension: ReportFormat | undefined = out?.endsWith(".csv")
    ? "csv"
    : out?.endsWith(".xml")
    ? "junit"
    : out
    ? "json"
    : undefined;
  return byExtension && allowed.includes(byExtension) ? byExtension : "table";
}

function emit(text: string, out: string | undefined, what: string): void {
  if (!out) {
    process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
    return;
  }
  try {
    writeFileSync(out, text.endsWith("\n") ? text : `${text}\n`);
  } catch (error) {
    throw new UsageError(
      `cannot write ${out}: ${(error as { code?: string }).code ?? (error as Error).message}`,
    );
  }
  console.log(`${what} written to ${out}`);
}

export async function report(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { name: { type: "string" }, format: { type: "string" }, out: { type: "string" } },
  });
  const format = formatOf(values.format, values.out, ["table", "json", "csv", "junit"]);
  const name = (values.name ?? process.env.CNILAB_ATTENDEE ?? "").trim();
  if (!name) throw new UsageError("whose report? pass --name NAME or set CNILAB_ATTENDEE");
  requireRoot();
  const { buildReport, duration, toCsv, toJunit } = await import("../exercise/report.ts");
  const r = await buildReport(name, listExercises());
  if (format === "json") emit(JSON.stringify(r, null, 2), values.out, "report (JSON)");
  else if (format === "csv") emit(toCsv([r]), values.out, "report (CSV)");
  else if (format === "junit") emit(toJunit(r), values.out, "report (JUnit XML)");
  else {
    const passed = r.exercises.filter((e) => e.status === "passed").length;
    console.log(`${r.attendee} on ${r.host}: ${passed} of ${r.exercises.length} exercises passed\n`);
    console.log(renderTable(r.exercises, [
      { header: "EXERCISE", value: (e) => e.id },
      { header: "STATUS", value: (e) => e.status },
      {
        header: "CHECKS",
        value: (
          e,
        ) => (e.checksPassing + e.checksFailing
          ? `${e.checksPassing}/${e.checksPassing + e.checksFailing}`
          : "-"),
        align: "right",
      },
      { header: "HINTS", value: (e) => `${e.hintsUsed}/${e.hintsTotal}`, align: "right", drop: 2 },
      {
        header: "TO PASS",
        value: (e) => (e.solvedWithSolution ? "solve" : duration(e.secondsToPass)),
        align: "right",
        drop: 1,
      },
      { header: "TITLE", value: (e) => `${e.section} ${e.title}`, drop: 3 },
    ]));
    console.log(`\nfor the instructor: cnilab exercise report --name '${r.attendee}' --out FILE.json`);
  }
  return Exit.Ok;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

export async function collect(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { format: { type: "string" }, out: { type: "string" } },
  });
  const dir = positionals[0];
  if (!dir) throw new UsageError("collect which directory? cnilab exercise collect DIR");
  const format = formatOf(values.format, values.out, ["table", "csv"]);
  const { collectReports, duration, median, ReportError, toCsv } = await import("../exercise/report.ts");
  let collected;
  try {
    collected = collectReports(dir);
  } catch (error) {
    if (error instanceof ReportError) throw new UsageError(error.message);
    throw error;
  }
  const { reports, files } = collected;
  if (reports.length === 0) throw new UsageError(`no reports (*.json, *.csv) in ${dir}`, Exit.CheckFailed);
  if (format === "csv") {
    emit(toCsv(reports), values.out, `class table of ${reports.length} attendees (CSV)`);
    return Exit.Ok;
  }
  const ids = [...new Set(reports.flatMap((r) => r.exercises.map((e) => e.id)))].sort();
  const width = terminalWidth();
  const lines = [
    indent(
      `${plural(reports.length, "attendee")}, ${plural(ids.length, "exercise")} (from ${
        plural(files.length, "file")
      } in ${dir})`,
      width,
      "",
    ),
    "",
  ];
  lines.push(renderTable(reports, [
    { header: "ATTENDEE", value: (r) => r.attendee },
    {
      header: "PASSED",
      value: (r) => `${r.exercises.filter((e) => e.status === "passed").length}/${r.exercises.length}`,
      align: "right",
    },
    {
      header: "HINTS",
      value: (r) => String(r.exercises.reduce((n, e) => n + e.hintsUsed, 0)),
      align: "right",
      drop: 2,
    },
    {
      header: "WORKING ON (NOT YET)",
      value: (r) =>
        r.exercises.filter((e) => e.status === "not yet" || e.status === "could not check").map((e) => e.id)
          .join(", ") || "-",
      wrap: true,
      min: 16,
      drop: 1,
    },
  ], width));
  lines.push("");
  const rowsByExercise = ids.map((id) => {
    const results = reports.map((r) => r.exercises.find((e) => e.id === id)).filter((e) => e !== undefined);
    const passed = results.filter((e) => e!.status === "passed");
    return {
      id,
      passed: `${passed.length}/${reports.length}`,
      begun: String(results.filter((e) => e!.status !== "not started").length),
      hints: String(results.reduce((n, e) => n + e!.hintsUsed, 0)),
      median: duration(
        median(
          passed.filter((e) => !e!.solvedWithSolution && e!.secondsToPass !== undefined).map((e) =>
            e!.secondsToPass!
          ),
        ),
      ),
    };
  });
  lines.push(renderTable(rowsByExercise, [
    { header: "EXERCISE", value: (e) => e.id },
    { header: "PASSED", value: (e) => e.passed, align: "right" },
    { header: "BEGUN", value: (e) => e.begun, align: "right", drop: 2 },
    { header: "HINTS", value: (e) => e.hints, align: "right", drop: 3 },
    { header: "MEDIAN TIME TO PASS", value: (e) => e.median, align: "right", drop: 1 },
  ], width));
  emit(lines.join("\n"), values.out, `class table of ${reports.length} attendees`);
  return Exit.Ok;
}
