// Command-line hygiene: every command, given an unknown flag, an extra argument or a missing value,
// answers with one line on stderr (what is wrong, where to look), exit code 2, and never a stack trace.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { cli, hostSnapshot, ROOT } from "./helpers.ts";

/** For each command: an unknown flag, an extra argument, a missing value (where it takes one). */
const CASES: Record<string, string[][]> = {
  list: [["list", "--bogus"], ["list", "extra"], ["list", "-o"]],
  run: [["run", "2.5", "--bogus"], ["run", "2.5", "extra"], ["run", "2.5", "--transcript"], ["run"]],
  show: [["show", "--bogus"], ["show", "extra"], ["show", "--netns"], ["show", "--run"]],
  ps: [["ps", "--bogus"], ["ps", "extra"]],
  down: [["down", "x", "--bogus"], ["down", "a", "b"], ["down"]],
  clean: [["clean", "--bogus"], ["clean", "extra"]],
  doctor: [["doctor", "--bogus"], ["doctor", "extra"]],
  bench: [["bench", "plugin", "--bogus"], ["bench", "plugin", "extra"], ["bench", "nosuch"]],
  cni: [["cni", "add", "--bogus"], ["cni", "add", "net", "/x", "extra"], ["cni", "add"], [
    "cni",
    "add",
    "net",
    "/x",
    "--ifname",
  ]],
  errata: [["errata", "--bogus"], ["errata", "extra"]],
  exercise: [["exercise", "list", "--bogus"], ["exercise", "list", "extra"], ["exercise", "start"]],
  "install-plugins": [["install-plugins", "--bogus"], ["install-plugins", "extra"], [
    "install-plugins",
    "--dir",
  ]],
  pod: [["pod", "ls", "--bogus"], ["pod", "ls", "extra"], ["pod", "run"], ["pod", "run", "--conf-dir"], [
    "pod",
    "logs",
  ]],
  trace: [["trace", "--bogus"], ["trace", "host", "lo", "extra"], ["trace", "host", "127.0.0.1", "--tcp"], [
    "trace",
  ]],
  ui: [["ui", "--bogus"], ["ui", "extra"], ["ui", "--port"], ["ui", "--listen", "example.com"]],
  "(none)": [["--bogus"], ["no-such-command"]],
};

/** What a stack trace looks like in Bun and Deno: "    at f (file.ts:1:2)", "error: …" with a frame. */
const STACK = /^\s+at\s|\.ts:\d+:\d+|^\s*\d+ \| /m;

describe("bad arguments", () => {
  test("every command is covered", async () => {
    const help = (await cli(["--help"])).stdout;
    const commands = [...help.matchAll(/^ {2}([a-z-]+) {2,}/gm)].map((m) => m[1]);
    expect(commands.length).toBeGreaterThan(10);
    expect(commands.filter((c) => !(c in CASES))).toEqual([]);
  });

  test("one line, exit 2, no stack frame, nothing created", async () => {
    const before = await hostSnapshot();
    const failures: string[] = [];
    for (const args of Object.values(CASES).flat()) {
      const r = await cli(args);
      const lines = r.stderr.trim().split("\n");
      const problem = r.code !== 2
        ? `exit ${r.code}`
        : lines.length !== 1 || lines[0] === ""
        ? `${lines.length} lines on stderr`
        : STACK.test(r.stderr)
        ? "a stack frame"
        : !lines[0].startsWith("cnilab")
        ? "a line that does not say it is cnilab's"
        : "";
      if (problem) failures.push(`cnilab ${args.join(" ")}: ${problem}\n${r.stderr}`);
    }
    expect(failures).toEqual([]);
    expect(await hostSnapshot()).toEqual(before);
  });

  test("under Deno too", async () => {
    const failures: string[] = [];
    for (const args of [["list", "extra"], ["run", "2.5", "--bogus"], ["show", "--netns"]]) {
      const r = await cli(args, { env: { CNILAB_RUNTIME: "deno" } });
      if (r.code !== 2 || r.stderr.trim().split("\n").length !== 1 || STACK.test(r.stderr)) {
        failures.push(`${args.join(" ")}: exit ${r.code}\n${r.stderr}`);
      }
    }
    expect(failures).toEqual([]);
  });
});

describe("cnilab --version", () => {
  test("prints cnilab's version, the runtime's and whether the plugins are built", async () => {
    const pkg = JSON.parse(readFileSync(`${ROOT}/package.json`, "utf8")) as { version: string };
    const r = await cli(["--version"]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toBe(`cnilab ${pkg.version}`);
    expect(lines[1]).toBe(`runtime bun ${Bun.version}`);
    expect(lines[2]).toMatch(/^plugins (built|not built)/);
    const deno = await cli(["--version"], { env: { CNILAB_RUNTIME: "deno" } });
    expect(deno.stdout.split("\n")[1]).toMatch(/^runtime deno \d+\.\d+/);
  });

  test("--help lists the exit codes 0, 1, 2, 130 and 143", async () => {
    const r = await cli(["--help"]);
    for (const code of ["0", "1", "2", "130", "143"]) {
      expect(r.stdout).toMatch(new RegExp(`^ {2}${code} +\\S`, "m"));
    }
    expect(r.stdout).not.toContain("Usage:");
  });

  test("one spelling: every command's --help says usage:, never Usage:", async () => {
    const spelled: string[] = [];
    for (
      const cmd of [...Object.keys(CASES).filter((c) => c !== "(none)"), "bench sandbox", "bench plugin"]
    ) {
      const r = await cli([...cmd.split(" "), "--help"]);
      if (r.stdout.includes("Usage:") || r.stderr.includes("Usage:")) spelled.push(cmd);
    }
    expect(spelled).toEqual([]);
  });
});
