/**
 * What an instructor collects: an attendee's report (JSON, CSV, JUnit validated with xmllint against
 * testdata/junit.xsd), the class table merged from reports copied off several machines, and the own-plugin
 * exercise in TypeScript with zx (the starter runs, the zx solution passes, the check says which it ran).
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { parse as parseCsv } from "csv-parse/sync";
import { listExercises } from "../../lib/exercise/mod.ts";
import { cli, hex, ROOT } from "../helpers.ts";

const XSD = new URL("./testdata/junit.xsd", import.meta.url).pathname;
const TMP = `/tmp/texc-${hex()}`;
const ids = listExercises().map((e) => e.id);
const resets: string[] = [];

afterEach(async () => {
  for (const id of resets.splice(0)) await cli(["exercise", "reset", id]);
});
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

function fits(text: string, width = 80) {
  for (const line of text.split("\n")) expect(line.length).toBeLessThanOrEqual(width);
}

interface CsvRow {
  attendee: string;
  exercise: string;
  status: string;
  checks_passing: string;
  checks_failing: string;
  hints_used: string;
  hints_total: string;
  seconds_to_pass: string;
  solved_with_solution: string;
}

describe("tables fit the terminal", () => {
  test("exercise list: every exercise at 80 columns (also when the width is unknown) and at 60", async () => {
    for (const columns of ["80", "", "60"]) {
      const r = await cli(["exercise", "list"], { env: { COLUMNS: columns } });
      expect(r.code).toBe(0);
      fits(r.stdout, Number(columns) || 80);
      for (const id of ids) expect(r.stdout).toMatch(new RegExp(`\\n\\S+ +${id} `));
    }
    // wide enough, the summary stays on one line with its title
    const wide = await cli(["exercise", "list"], { env: { COLUMNS: "200" } });
    expect(wide.stdout).toContain(
      "Win the conf dir: add a CNI conflist that a containerd-style runtime picks",
    );
  });
});

describe("report", () => {
  test("JSON, CSV and JUnit: status, checks, hints and time to pass of every exercise", async () => {
    resets.push("conf-pick", "wire-a-pod");
    mkdirSync(TMP, { recursive: true });
    expect((await cli(["exercise", "solve", "conf-pick"])).code).toBe(0);
    expect((await cli(["exercise", "hint", "wire-a-pod"])).code).toBe(0);
    expect((await cli(["exercise", "check", "wire-a-pod"])).code).toBe(1);

    // the name from CNILAB_ATTENDEE
    const json = await cli(["exercise", "report", "--format", "json"], {
      env: { CNILAB_ATTENDEE: "Ana Lima" },
    });
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as {
      attendee: string;
      exercises: {
        id: string;
        status: string;
        checksPassing: number;
        checksFailing: number;
        hintsUsed: number;
        secondsToPass?: number;
        solvedWithSolution: boolean;
      }[];
    };
    expect(report.attendee).toBe("Ana Lima");
    expect(report.exercises.map((e) => e.id)).toEqual(ids);
    const byId = Object.fromEntries(report.exercises.map((e) => [e.id, e]));
    expect(byId["conf-pick"]).toMatchObject({ status: "passed", checksFailing: 0, solvedWithSolution: true });
    expect(byId["conf-pick"].checksPassing).toBeGreaterThan(0);
    expect(typeof byId["conf-pick"].secondsToPass).toBe("number");
    expect(byId["wire-a-pod"]).toMatchObject({ status: "not yet", hintsUsed: 1, checksPassing: 0 });
    expect(byId["wire-a-pod"].checksFailing).toBeGreaterThan(0);
    expect(byId["two-pods"]).toMatchObject({ status: "not started", checksPassing: 0, checksFailing: 0 });

    // CSV, parsed back
    const csvFile = `${TMP}/ana.csv`;
    const csv = await cli(["exercise", "report", "--name", "Ana Lima", "--out", csvFile]);
    expect(csv.code).toBe(0);
    expect(csv.stdout).toContain(`written to ${csvFile}`);
    const rows = parseCsv(readFileSync(csvFile, "utf8"), { columns: true }) as CsvRow[];
    expect(rows.map((r) => r.exercise)).toEqual(ids);
    const row = Object.fromEntries(rows.map((r) => [r.exercise, r]));
    expect(row["conf-pick"]).toMatchObject({
      attendee: "Ana Lima",
      status: "passed",
      solved_with_solution: "yes",
    });
    expect(row["wire-a-pod"]).toMatchObject({ status: "not yet", hints_used: "1", hints_total: "4" });
    expect(row["two-pods"].status).toBe("not started");

    // JUnit: valid against the schema, one testsuite per exercise, a failure per failing check
    const xmlFile = `${TMP}/ana.xml`;
    expect(
      (await cli(["exercise", "report", "--name", "Ana Lima", "--format", "junit", "--out", xmlFile])).code,
    )
      .toBe(0);
    const lint = Bun.spawnSync(["xmllint", "--noout", "--schema", XSD, xmlFile], { stderr: "pipe" });
    expect(lint.stderr.toString()).toContain("validates");
    expect(lint.exitCode).toBe(0);
    const xml = readFileSync(xmlFile, "utf8");
    const suites = [...xml.matchAll(/<testsuite name="([^"]+)"[^>]*failures="(\d+)"/g)];
    expect(suites.map((m) => m[1])).toEqual(ids);
    const failures = Object.fromEntries(suites.map((m) => [m[1], Number(m[2])]));
    expect(failures["conf-pick"]).toBe(0);
    expect(failures["wire-a-pod"]).toBe(byId["wire-a-pod"].checksFailing - skippedIn(xml, "wire-a-pod"));
    expect(xml).toContain('<property name="hints_used" value="1 of 4"/>');
    expect(xml).toContain('<failure message="there is no namespace named cni-exw-&lt;uuid');

    // the schema is not a formality: a suite without a name does not validate
    writeFileSync(`${TMP}/broken.xml`, xml.replace('<testsuite name="conf-pick"', "<testsuite"));
    expect(
      Bun.spawnSync(["xmllint", "--noout", "--schema", XSD, `${TMP}/broken.xml`], { stderr: "pipe" })
        .exitCode,
    )
      .not.toBe(0);
    rmSync(`${TMP}/broken.xml`);

    // the table fits 80 columns
    const table = await cli(["exercise", "report", "--name", "Ana Lima"], { env: { COLUMNS: "80" } });
    expect(table.stdout).toMatch(/\nconf-pick +passed +\d+\/\d+ +0\/3 +solve/);
    fits(table.stdout);
  });

  test("without a name it says how to give one, in one line", async () => {
    const r = await cli(["exercise", "report"], { env: { CNILAB_ATTENDEE: "" } });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toEqual([
      "cnilab exercise: whose report? pass --name NAME or set CNILAB_ATTENDEE; see 'cnilab exercise --help'",
    ]);
  });
});

function skippedIn(xml: string, suite: string): number {
  const body = xml.split(`<testsuite name="${suite}"`)[1].split("</testsuite>")[0];
  return (body.match(/<skipped\/>/g) ?? []).length + (body.match(/<error /g) ?? []).length;
}

describe("collect", () => {
  test("merges the reports copied from attendees' machines into one class table (terminal, CSV)", async () => {
    resets.push("conf-pick", "wire-a-pod");
    const dir = `${TMP}/class`;
    mkdirSync(dir, { recursive: true });
    // Ana: nothing done yet; Ben, later: conf-pick passed and one hint of wire-a-pod
    expect((await cli(["exercise", "report", "--name", "Ana", "--out", `${dir}/ana.json`])).code).toBe(0);
    expect((await cli(["exercise", "solve", "conf-pick"])).code).toBe(0);
    expect((await cli(["exercise", "hint", "wire-a-pod"])).code).toBe(0);
    expect((await cli(["exercise", "report", "--name", "Ben", "--out", `${dir}/ben.csv`])).code).toBe(0);
    // an older copy of Ben's report: the newest counts
    const old = JSON.parse((await cli(["exercise", "report", "--name", "Ben", "--format", "json"])).stdout);
    old.createdAt = "2000-01-01T00:00:00.000Z";
    for (const e of old.exercises) e.status = "not started";
    writeFileSync(`${dir}/ben-old.json`, JSON.stringify(old));
    writeFileSync(`${dir}/notes.txt`, "not a report");

    const table = await cli(["exercise", "collect", dir], { env: { COLUMNS: "80" } });
    expect(table.code).toBe(0);
    expect(table.stdout).toContain(`2 attendees, ${ids.length} exercises`);
    expect(table.stdout).toMatch(new RegExp(`\\nAna +0/${ids.length} +0 +-\\n`));
    expect(table.stdout).toMatch(new RegExp(`\\nBen +1/${ids.length} +1 +wire-a-pod\\n`));
    expect(table.stdout).toMatch(/\nconf-pick +1\/2 /);
    fits(table.stdout);
    fits((await cli(["exercise", "collect", dir], { env: { COLUMNS: "50" } })).stdout, 50);

    const out = `${TMP}/class.csv`;
    expect((await cli(["exercise", "collect", dir, "--out", out])).code).toBe(0);
    const rows = parseCsv(readFileSync(out, "utf8"), { columns: true }) as CsvRow[];
    expect(rows.length).toBe(2 * ids.length);
    expect([...new Set(rows.map((r) => r.attendee))]).toEqual(["Ana", "Ben"]);
    const ben = rows.filter((r) => r.attendee === "Ben");
    expect(ben.find((r) => r.exercise === "conf-pick")!.status).toBe("passed");
    expect(ben.find((r) => r.exercise === "wire-a-pod")!.hints_used).toBe("1");

    // a file that is not a report: one line, exit 2
    writeFileSync(`${dir}/bad.json`, '{"hello": 1}');
    const bad = await cli(["exercise", "collect", dir]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split("\n").length).toBe(1);
    expect(bad.stderr).toContain("bad.json: not a cnilab exercise report");
  });
});

describe("own-plugin in TypeScript with zx", () => {
  test("the zx starter runs as the plugin; the zx solution passes; the check says which plugin it ran", async () => {
    resets.push("own-plugin");
    expect((await cli(["exercise", "start", "own-plugin"])).code).toBe(0);
    const work = "/run/cnilab/exercises/own-plugin";
    expect(existsSync(`${work}/starter/ex-hello.sh`)).toBe(true);
    expect(readFileSync(`${work}/starter/ex-hello.ts`, "utf8").split("\n")[0]).toBe(
      `#!${ROOT}/node_modules/.bin/bun`,
    );

    // the starter as the attendee's first step: VERSION already answers, ADD does nothing yet
    copyFileSync(`${work}/starter/ex-hello.ts`, `${work}/bin/ex-hello`);
    Bun.spawnSync(["chmod", "+x", `${work}/bin/ex-hello`]);
    const starter = await cli(["exercise", "check", "own-plugin"]);
    expect(starter.code).toBe(1);
    expect(starter.stdout).toContain("✓ ex-hello is TypeScript (zx), run by Bun");
    expect(starter.stdout).toContain("✓ plugin 'ex-hello' is found");
    expect(starter.stdout.replace(/\n {6,}/g, " ")).toMatch(
      /✗ ADD through the runtime succeeds\n {4}the runtime's ADD exited 1: .* printed no valid JSON result/,
    );

    // a TypeScript plugin without its #! line cannot run: the check says why
    writeFileSync(
      `${work}/bin/ex-hello`,
      readFileSync(`${work}/starter/ex-hello.ts`, "utf8").split("\n").slice(1).join("\n"),
    );
    const noShebang = await cli(["exercise", "check", "own-plugin"]);
    expect(noShebang.stdout).toContain("ex-hello has no #! line: the kernel cannot run it");

    expect((await cli(["exercise", "solve", "own-plugin", "ts"])).code).toBe(0);
    const solved = await cli(["exercise", "check", "own-plugin"]);
    expect(solved.stdout).toContain("✓ ex-hello is TypeScript (zx), run by Bun");
    expect(solved.stdout).toContain("verdict: passed");
    expect(solved.code).toBe(0);

    const reset = await cli(["exercise", "reset", "own-plugin"]);
    expect(reset.code).toBe(0);
    resets.length = 0;
    // the work dir's node_modules link went with it, and only the link
    expect(existsSync(work)).toBe(false);
    expect(existsSync(`${ROOT}/node_modules/zx/package.json`)).toBe(true);
  });
});
