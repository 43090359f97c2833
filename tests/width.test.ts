// Output fits an 80-column terminal: every lab's narration, list, pod ls, exercise list, show, ps, doctor
// and every --help, rendered at COLUMNS=80. Measured with Bun's own display width (wide glyphs count
// two), colour codes stripped.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cli, hostSnapshot } from "./helpers.ts";

const env = { COLUMNS: "80" };
let before: Record<string, unknown>;

/** Lines wider than 80 columns, numbered, for the failure message. */
function tooWide(text: string): string[] {
  // deno-lint-ignore no-control-regex
  const plain = text.replace(/\x1b\[[0-9;]*m/g, "");
  return plain.split("\n").flatMap((line, i) => Bun.stringWidth(line) > 80 ? [`${i + 1}: ${line}`] : []);
}

async function fits(args: string[], expectCode = 0): Promise<string> {
  const r = await cli(args, { env });
  expect({ args, code: r.code }).toEqual({ args, code: expectCode });
  expect({ args, wide: tooWide(r.stdout + r.stderr) }).toEqual({ args, wide: [] });
  return r.stdout;
}

beforeAll(async () => {
  before = await hostSnapshot();
});

afterAll(async () => {
  await cli(["clean"]);
});

describe("80 columns", () => {
  test("every lab (cnilab run all)", async () => {
    const out = await fits(["run", "all"]);
    for (const section of ["2.1", "2.2", "2.3", "2.4", "2.5"]) expect(out).toContain(`━━ ${section} `);
    expect(out).toContain("┌"); // the chapter's boxes are drawn, not dropped
  });

  test("every --help", async () => {
    const help = await fits(["--help"]);
    const commands = [...help.matchAll(/^ {2}([a-z-]+) {2,}/gm)].map((m) => m[1]);
    expect(commands.length).toBeGreaterThan(10);
    for (const c of commands) await fits([c, "--help"]);
    for (const b of ["plugin", "sandbox"]) await fits(["bench", "help", b]);
    await fits(["--version"]);
  });

  test("exercise list", async () => {
    await fits(["exercise", "list"]);
  });

  test("list, doctor, errata", async () => {
    const list = await fits(["list"]);
    expect(list).toMatch(/^SECTION +ID +TITLE/m);
    expect(await fits(["list", "-o", "wide"])).toContain("SUMMARY");
    await fits(["doctor"]);
    await fits(["errata"]);
  });

  test("with a lab kept: pod ls, show, ps; then down removes it", async () => {
    const kept = await cli(["run", "2.4", "--keep"], { env });
    expect(kept.code).toBe(0);
    const runId = /run ([0-9a-f]{8})\)/.exec(kept.stdout)![1];
    const pods = await fits(["pod", "ls"]);
    expect(pods).toMatch(/^NAMESPACE +NAME +READY +STATUS +IP +AGE$/m);
    // -o wide asks for every column in full, like kubectl's: not fitted, but all there
    const wide = await cli(["pod", "ls", "-o", "wide"], { env });
    expect(wide.stdout).toMatch(/^NAMESPACE +NAME +READY +STATUS +IP +AGE +NETNS +SANDBOX +PAUSE$/m);
    expect(wide.stdout).toMatch(/ cni-[0-9a-f-]{36} +[0-9a-f]{13} +\d+$/m);
    const show = await fits(["show"]);
    expect(show).toMatch(/pod default\/\S+ \(cni-[0-9a-f]{8}\)/);
    await fits(["show", "--processes"]);
    await fits(["show", "--all"]);
    await fits(["show", "--run", runId]);
    expect(await fits(["ps"])).toContain(runId);
    expect(await fits(["down", runId])).toContain("✓ verified: nothing is left");
    expect(await hostSnapshot()).toEqual(before);
  });
});
