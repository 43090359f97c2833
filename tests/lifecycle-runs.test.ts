// One run's life cycle: `cnilab ps` lists kept runs, `cnilab down <id>` removes exactly one of them, a
// collision with a kept run names it and the command, `run all` goes on past a lab that cannot start, and
// the views (show --run, a transcript) draw only one run's objects.
import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync, rmSync } from "node:fs";
import { link, netns } from "../lib/iproute2/mod.ts";
/** Lab 2.4's bridge. */
const BRIDGE24 = "cnilab24";
import { BRIDGE as BRIDGE25 } from "../labs/network-namespace-lifecycle.ts";
import { cli, CNILAB, hostSnapshot } from "./helpers.ts";

afterAll(async () => {
  await cli(["clean"]);
});

interface PsRun {
  id: string;
  kind: string;
  name: string;
  state: string;
  holds: { namespaces: string[]; links: string[]; processes: number[] };
}

async function ps(): Promise<PsRun[]> {
  const r = await cli(["ps", "--json"]);
  expect(r.code).toBe(0);
  return (JSON.parse(r.stdout) as { runs: PsRun[] }).runs;
}

describe("kept runs", () => {
  test("ps lists them, a collision names the kept run, down removes exactly one, clean the rest", async () => {
    const before = await hostSnapshot();
    const kept25 = await cli(["run", "2.5", "--keep", "--json"]);
    expect(kept25.code).toBe(0);
    const report = JSON.parse(kept25.stdout) as { labs: { runId: string; explore: string[] }[] };
    const id25 = report.labs[0].runId;
    // --keep --json says how to remove it, too
    expect(report.labs[0].explore).toContain(`cnilab down ${id25}`);
    expect((await cli(["run", "2.4", "--keep"])).code).toBe(0);

    const runs = await ps();
    const lab25 = runs.find((r) => r.id === id25)!;
    expect(lab25).toMatchObject({ kind: "lab", name: "2.5 network-namespace-lifecycle", state: "kept" });
    expect(lab25.holds.links).toContain(BRIDGE25);
    expect(lab25.holds.namespaces.length).toBe(2);
    expect(runs.some((r) => r.kind === "lab" && r.name.startsWith("2.4 "))).toBe(true);
    expect(runs.filter((r) => r.kind === "pod").length).toBe(2); // 2.4's pods

    // the same lab again: the bridge is the kept run's, and the message says so and how to remove it
    const again = await cli(["run", "2.5"]);
    expect(again.code).toBe(2);
    expect(again.stderr.trim().split("\n").length).toBe(1);
    expect(again.stderr).toContain(
      `${BRIDGE25} belongs to kept run ${id25} (lab network-namespace-lifecycle, `,
    );
    expect(again.stderr).toContain(`cnilab down ${id25}`);

    // run all: 2.4 and 2.5 are blocked rows of the summary, the others still run and pass
    const all = await cli(["run", "all"]);
    expect(all.code).toBe(2);
    expect(all.stdout).toMatch(/2\.1 kubernetes-cni-integration +✓ passed/);
    expect(all.stdout).toMatch(/2\.3 container-runtime-integration +✓ passed/);
    expect(all.stdout).toMatch(/2\.4 pod-sandbox-networking +blocked: /);
    expect(all.stdout).toMatch(/2\.5 network-namespace-lifecycle +blocked: /);

    // show --run draws 2.5's bridge and pods, not 2.4's
    const shown = await cli(["show", "--run", id25, "--json"]);
    const t = JSON.parse(shown.stdout) as {
      host: { links: { name: string }[] };
      namespaces: { name: string }[];
    };
    expect(t.host.links.map((l) => l.name)).toContain(BRIDGE25);
    expect(t.host.links.map((l) => l.name)).not.toContain(BRIDGE24);
    expect(t.namespaces.map((n) => n.name).sort()).toEqual([...lab25.holds.namespaces].sort());

    // down 2.5: its objects are gone, 2.4 still stands
    const down = await cli(["down", id25]);
    expect(down.code).toBe(0);
    expect(down.stdout).toContain("✓ verified: nothing is left");
    expect(await link.get(BRIDGE25)).toBeUndefined();
    for (const ns of lab25.holds.namespaces) expect(await netns.exists(ns)).toBe(false);
    expect((await link.get(BRIDGE24))?.kind).toBe("bridge");
    expect((await ps()).some((r) => r.id === id25)).toBe(false);
    expect((await cli(["down", id25])).code).toBe(2); // gone: nothing to take down

    // down by section takes the kept 2.4 with its pods
    expect((await cli(["down", "2.4"])).code).toBe(0);
    expect(await ps()).toEqual([]);
    expect(await hostSnapshot()).toEqual(before);
  });

  test("a transcript taken while another lab is kept draws only its own lab", async () => {
    const file = `/tmp/cnilab-scoped-${crypto.randomUUID()}.md`;
    try {
      expect((await cli(["run", "2.4", "--keep"])).code).toBe(0);
      const plain = await cli(["run", "2.5"]);
      const r = await cli(["run", "2.5", "--transcript", file]);
      expect(r.code).toBe(0);
      const md = readFileSync(file, "utf8");
      const diagram = md.slice(md.indexOf("## The topology at its fullest"));
      expect(diagram).toContain(BRIDGE25);
      expect(diagram).not.toContain(BRIDGE24);
      // --transcript changes nothing on the terminal: the same lines (run ids and timings aside)
      // (ids, addresses, MACs, trace probe patterns and timings differ between two runs; a timing's width can move a line break)
      const normal = (s: string) =>
        s.split("\n").filter((l) => !l.startsWith("transcript written to")).join("\n")
          .replace(/\s+/g, " ").replace(/([0-9a-f]{2}:){5}[0-9a-f]{2}/g, "MAC").replace(/fe80::\S+/g, "V6")
          .replace(/@if\d+/g, "@ifN").replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, "UUID").replace(
            /\b[0-9a-f]{32}\b/g,
            "PATTERN",
          ).replace(
            /\b[0-9a-f]{8}\b/g,
            "ID",
          )
          .replace(/[0-9a-f]{64}/g, "SANDBOX").replace(/\d+(\.\d+)? (ms|s)\b/g, "T").replace(
            /10\.250\.\d+\.\d+/g,
            "IP",
          )
          .replace(/veth[0-9a-f]{8}/g, "VETH").replace(/\b\d+\b/g, "N").split(/(?=[✓$·▸])/);
      // the dimmed reads ("· ip -json …") are left out of the comparison: a check that polls reads as often
      // as it must, so their count moves a little between two runs; what --transcript once added was 4–12
      // of them after every step, which the count below would catch
      const reads = (s: string) => normal(s).filter((seg) => seg.startsWith("·"));
      const story = (s: string) => normal(s).filter((seg) => !seg.startsWith("·"));
      expect(story(r.stdout)).toEqual(story(plain.stdout));
      expect(reads(r.stdout).length).toBeLessThanOrEqual(reads(plain.stdout).length + 5);
    } finally {
      rmSync(file, { force: true });
      await cli(["down", "2.4"]);
    }
  });
});

describe("an interrupted run", () => {
  for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
    test(`${signal} in step 3: "interrupted at step 3 of N (${signal}); teardown verified", exit ${code}`, async () => {
      const before = await hostSnapshot();
      const proc = Bun.spawn([CNILAB, "run", "2.5"], {
        env: { ...process.env, NO_COLOR: "1" },
        stdout: "pipe",
      });
      const reader = proc.stdout.getReader();
      let out = "";
      while (!out.includes("▸ Step 3 ·")) {
        const { value, done } = await reader.read();
        if (done) break;
        out += new TextDecoder().decode(value);
      }
      proc.kill(signal);
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        out += new TextDecoder().decode(value);
      }
      expect(await proc.exited).toBe(code);
      expect(out).toMatch(new RegExp(`interrupted at step 3 of \\d+ \\(${signal}\\); teardown verified`));
      expect(out).not.toContain("✗ failed");
      expect(await hostSnapshot()).toEqual(before);
    });
  }
});
