// `cnilab run --transcript`: a Markdown handout a workshop can hand out.
import { describe, expect, test } from "bun:test";
import { readFileSync, rmSync } from "node:fs";
import { findLab } from "../labs/mod.ts";
import { ERRATA } from "../lib/errata/mod.ts";
import { cli } from "./helpers.ts";

describe("--transcript", () => {
  test("writes a Markdown handout with every step, commands, checks, timings and a Mermaid diagram", async () => {
    const file = `/tmp/cnilab-transcript-${crypto.randomUUID()}.md`;
    try {
      const r = await cli(["run", "2.5", "--transcript", file]);
      expect(r.code).toBe(0);
      const md = readFileSync(file, "utf8");
      const lab = findLab("2.5")!;
      expect(md.match(/^## Step \d+\. /gm)?.length).toBe(lab.steps);
      expect(md).toMatch(/```console\n\$ ip netns add cni-/);
      expect(md).toContain("- ✓ teardown left nothing behind");
      expect(md).toContain("## Step timings");
      const mermaid = md.slice(md.indexOf("```mermaid"));
      expect(mermaid).toMatch(/flowchart LR/);
      expect(mermaid).toMatch(/eth0<br\/>\(veth\) 10\.250\.\d+\.2\/24/);
      expect(mermaid).toMatch(/<-->\|veth\|/);
      // the errata sheet ends the handout, every entry with its proving check
      const errata = md.slice(md.indexOf("## Errata: where the chapter and containerd differ"));
      expect(md.indexOf("## Errata")).toBeGreaterThan(md.indexOf("```mermaid"));
      for (const e of ERRATA) expect(errata).toContain(`### \`${e.id}\``);
      expect(errata).toContain(`check "${ERRATA.at(-1)!.check}"`);
    } finally {
      rmSync(file, { force: true });
    }
  });
});
