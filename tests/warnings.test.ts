// Warnings belong to the story: what the runtime reports while a lab runs (2.1 puts a broken config file
// in the conf dir on purpose) is shown under its step, is part of the --json report and of the handout,
// and nothing is printed raw on stderr.
import { describe, expect, test } from "bun:test";
import { readFileSync, rmSync } from "node:fs";
import { cli } from "./helpers.ts";

describe("warnings from the runtime during lab 2.1", () => {
  test("terminal: indented under the step; stderr: nothing", async () => {
    const r = await cli(["run", "2.1"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    const lines = r.stdout.split("\n");
    const warnings = lines.filter((l) => l.includes("warning: skipping invalid CNI config"));
    expect(warnings.length).toBeGreaterThan(0);
    for (const w of warnings) expect(w).toMatch(/^ {2}warning: /);
    // each one appears after a step began, not before the lab or after its verdict
    const first = lines.findIndex((l) => l.startsWith("▸ Step"));
    const verdict = lines.findIndex((l) => /^(✓ passed|✗ failed)/.test(l));
    for (const w of warnings) {
      const at = lines.indexOf(w);
      expect(at > first && at < verdict).toBe(true);
    }
  });

  test("--json: a warnings list in the report, stderr empty; --transcript: a line in the handout", async () => {
    const file = `/tmp/cnilab-warn-${crypto.randomUUID()}.md`;
    try {
      const r = await cli(["run", "2.1", "--json", "--transcript", file]);
      expect(r.code).toBe(0);
      expect(r.stderr).toBe("");
      const report = JSON.parse(r.stdout) as { labs: { warnings: string[] }[] };
      expect(report.labs[0].warnings.some((w) => w.startsWith("skipping invalid CNI config"))).toBe(true);
      expect(readFileSync(file, "utf8")).toMatch(/^> warning: skipping invalid CNI config/m);
    } finally {
      rmSync(file, { force: true });
    }
  });
});
