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

/** Placeholders such as <uuid> outside fences and code spans: Markdown would take them for HTML tags. */
function barePlaceholders(md: string): string[] {
  const prose = md.split(/^(?:```|````)[\s\S]*?^(?:```|````)$/m).join("\n").replace(/`[^`\n]*`/g, "");
  return [...prose.matchAll(/<[A-Za-z][\w./:-]*>/g)].map((m) => m[0]);
}

describe("handouts that can be retyped", () => {
  test("2.5: placeholders in code spans; the reservation files and resolv.conf as commands", async () => {
    const file = `/tmp/cnilab-retype-${crypto.randomUUID()}.md`;
    try {
      expect((await cli(["run", "2.5", "--transcript", file])).code).toBe(0);
      const md = readFileSync(file, "utf8");
      expect(barePlaceholders(md)).toEqual([]);
      const step5 = md.slice(md.indexOf("## Step 5."), md.indexOf("## Step 6."));
      expect(step5).toMatch(
        /^\$ printf '[0-9a-f]{64}\\r\\neth0' > \/var\/lib\/cni\/networks\/\S+\/10\.250\.\d+\.2$/m,
      );
      expect(md).toMatch(/^\$ cat > \/etc\/netns\/cni-[0-9a-f-]{36}\/resolv\.conf <<'EOF'\nsearch /m);
    } finally {
      rmSync(file, { force: true });
    }
  });

  for (const section of ["2.1", "2.2"]) {
    test(`${section}: a Mermaid sequenceDiagram of the recorded calls, kubelet → runtime → plugins`, async () => {
      const file = `/tmp/cnilab-seq-${crypto.randomUUID()}.md`;
      try {
        expect((await cli(["run", section, "--transcript", file])).code).toBe(0);
        const md = readFileSync(file, "utf8");
        expect(barePlaceholders(md)).toEqual([]);
        const seq = md.slice(md.indexOf("```mermaid\nsequenceDiagram"));
        expect(seq.length).toBeGreaterThan(0);
        const diagram = seq.slice(0, seq.indexOf("\n```\n"));
        expect(diagram).toContain("kubelet->>CRI_runtime: RunPodSandbox");
        expect(diagram).toMatch(/CRI_runtime->>cnilab_bridge: CNI_COMMAND=ADD CNI_IFNAME=eth0/);
        expect(diagram).toMatch(/cnilab_bridge-->>CRI_runtime: result: 10\.250\.\d+\.\d+\/24/);
        expect(diagram).toContain("CNI_COMMAND=DEL");
      } finally {
        rmSync(file, { force: true });
      }
    });
  }
});
