// The errata sheet: `cnilab errata [--json]`, docs/errata.md generated from the same source, and — so that no
// erratum is unproved — every entry's lab run with --json, its named check found in its step and passing.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { findLab } from "../labs/mod.ts";
import { ERRATA, type Erratum } from "../lib/errata/mod.ts";
import type { LabReport } from "../lib/lab/mod.ts";
import { ERRATA_DOC, renderErrataDoc } from "../scripts/errata-doc.ts";
import { cli } from "./helpers.ts";

const REQUIRED = [
  "kubelet-cni-flags",
  "max-conf-num",
  "invalid-config-file",
  "sandbox-order",
  "stop-does-del",
  "netns-lifetime",
  "veth0-name",
  "pid-sharing-optional",
  "uts-shared",
  "dns-from-runtime",
  "example-ip",
  "containerd2-config-table",
];

describe("cnilab errata", () => {
  test("--json prints every entry with all seven fields, the required ids among them, each id once", async () => {
    const r = await cli(["errata", "--json"]);
    expect(r.code).toBe(0);
    const entries = JSON.parse(r.stdout) as Erratum[];
    expect(entries).toEqual([...ERRATA]);
    const ids = entries.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of REQUIRED) expect(ids).toContain(id);
    for (const e of entries) {
      expect(Object.keys(e).sort()).toEqual(["check", "claim", "id", "lab", "reality", "source", "step"]);
      for (const v of Object.values(e)) expect(v.length).toBeGreaterThan(0);
      expect(findLab(e.lab)?.id).toBe(e.lab);
    }
  });

  test("the text sheet names every entry and fits 80 columns; a stray argument is one line, exit 2", async () => {
    const r = await cli(["errata"]);
    expect(r.code).toBe(0);
    for (const e of ERRATA) expect(r.stdout.split("\n")).toContain(e.id);
    expect(Math.max(...r.stdout.split("\n").map((l) => [...l].length))).toBeLessThanOrEqual(80);
    const bad = await cli(["errata", "extra"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split("\n")).toEqual([
      "cnilab errata: unexpected argument 'extra'; see 'cnilab errata --help'",
    ]);
  });

  test("docs/errata.md is generated from the same entries and up to date (bun scripts/errata-doc.ts)", () => {
    const doc = readFileSync(ERRATA_DOC, "utf8");
    expect(doc).toBe(renderErrataDoc());
    for (const e of ERRATA) expect(doc).toContain(`\`${e.id}\``);
  });
});

describe("every erratum is proved by a passing lab check", () => {
  const labs = [...new Set(ERRATA.map((e) => e.lab))];
  for (const lab of labs) {
    test(`cnilab run ${lab} --json: each named check exists in its step and passed`, async () => {
      const r = await cli(["run", lab, "--json"]);
      const report = (JSON.parse(r.stdout) as { labs: LabReport[] }).labs[0];
      expect(report.lab).toBe(lab);
      for (const e of ERRATA.filter((x) => x.lab === lab)) {
        const step = report.steps.find((s) => s.title === e.step);
        expect({ id: e.id, step: step?.title }).toEqual({ id: e.id, step: e.step });
        const check = step!.checks.find((c) => c.name === e.check);
        expect({ id: e.id, check: check?.name, ok: check?.ok }).toEqual({
          id: e.id,
          check: e.check,
          ok: true,
        });
      }
      expect(r.code).toBe(0);
    });
  }
});
