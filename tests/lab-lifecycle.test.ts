// Lab 2.5 end to end, run as a user runs it: through bin/cnilab, as root, on real namespaces.
import { describe, expect, test } from "bun:test";
import { link, netns } from "../lib/iproute2/mod.ts";
import { BRIDGE } from "../labs/network-namespace-lifecycle.ts";
import { findLab } from "../labs/mod.ts";
import { cli, CNILAB, hostSnapshot } from "./helpers.ts";

describe("cnilab run 2.5", () => {
  test("passes, shows each command and check, and leaves the host as it found it", async () => {
    const before = await hostSnapshot();
    const r = await cli(["run", "2.5"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\$ ip netns add cni-[0-9a-f-]{36}/);
    expect(r.stdout).toContain("link add name veth");
    expect(r.stdout).toMatch(/✓ host → pod-a: ping 10\.250\.\d+\.2/);
    expect(r.stdout).toMatch(/✓ pod-a → pod-b: ping/);
    expect(r.stdout).toContain("✓ the restarted app answers on the same IP");
    expect(r.stdout).toContain("✓ teardown left nothing behind");
    expect(await hostSnapshot()).toEqual(before);
  });

  test("--json reports every step, check and command", async () => {
    const r = await cli(["run", "network-namespace-lifecycle", "--json"]);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as {
      ok: boolean;
      labs: {
        steps: { ok: boolean; checks: { ok: boolean }[] }[];
        teardown: { leftovers: string[] };
        commands: Record<string, { argv: string[]; code: number }[]>;
      }[];
    };
    expect(report.ok).toBe(true);
    const lab = report.labs[0];
    expect(lab.steps.length).toBe(findLab("2.5")!.steps);
    expect(lab.steps.every((s) => s.ok && s.checks.length > 0)).toBe(true);
    expect(lab.teardown.leftovers).toEqual([]);
    expect(lab.commands["2"].some((c) => c.argv.slice(0, 3).join(" ") === "ip netns add" && c.code === 0))
      .toBe(true);
  });

  test("--keep leaves both pods standing; cnilab clean then restores the host", async () => {
    const before = await hostSnapshot();
    const r = await cli(["run", "2.5", "--keep"]);
    expect(r.code).toBe(0);
    const runId = /run ([0-9a-f]{8})\)/.exec(r.stdout)![1];
    expect(r.stdout).toContain(`cnilab down ${runId}`);
    const pods = (await netns.list()).filter((n) => n.name.startsWith("cni-") && r.stdout.includes(n.name));
    expect(pods.length).toBe(2);
    expect((await link.get(BRIDGE))?.kind).toBe("bridge");
    const c = await cli(["clean"]);
    expect(c.code).toBe(0);
    expect(c.stdout).toContain(`link ${BRIDGE}`);
    expect(await hostSnapshot()).toEqual(before);
  });

  test("--step without a controlling terminal: one line, exit 2, nothing created", async () => {
    const before = await hostSnapshot();
    // setsid: a new session has no controlling terminal, like cron or CI
    const proc = Bun.spawnSync(["setsid", CNILAB, "run", "2.5", "--step"], {
      env: { ...process.env, NO_COLOR: "1" },
      stdin: "ignore",
    });
    expect(proc.exitCode).toBe(2);
    const err = proc.stderr.toString().trim().split("\n");
    expect(err.length).toBe(1);
    expect(err[0]).toContain("--step needs a controlling terminal");
    expect(proc.stdout.toString()).toBe("");
    expect(await hostSnapshot()).toEqual(before);
  });

  test("a check fails when the state it checks is broken mid-lab (a pod's veth deleted)", async () => {
    const lab = findLab("2.5")!;
    const report = await lab.run({
      handleSignals: false,
      beforeStep: async (_index, title) => {
        if (!title.startsWith("Connectivity")) return;
        const port = (await link.list()).find((l) => l.master === BRIDGE);
        await link.del(port!.name);
      },
    });
    expect(report.ok).toBe(false);
    const connectivity = report.steps.find((s) => s.title.startsWith("Connectivity"))!;
    expect(connectivity.checks.filter((c) => !c.ok).length).toBeGreaterThan(0);
    expect(report.teardown?.leftovers).toEqual([]);
    expect(await link.get(BRIDGE)).toBeUndefined();
  });
});

describe("bad input", () => {
  test("an unknown lab id: one line, exit 2", async () => {
    const r = await cli(["run", "no-such-lab"]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n").length).toBe(1);
    expect(r.stderr).toContain("unknown lab 'no-such-lab'");
  });

  test("a bridge with the lab's name made by someone else: exit 2, nothing created, the bridge survives", async () => {
    const before = await hostSnapshot();
    await link.addBridge(BRIDGE);
    try {
      const r = await cli(["run", "2.5"]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`link ${BRIDGE} already exists and was not made by this cnilab run`);
      expect((await link.get(BRIDGE))?.kind).toBe("bridge");
    } finally {
      await link.del(BRIDGE);
    }
    expect(await hostSnapshot()).toEqual(before);
  });

  test("not root: exit 2 with the fix", async () => {
    const r = await cli([], {});
    expect(r.code).toBe(2); // no command: usage
    // uid 0 without any capability: what "not root" means to the kernel, and it still reads a clone in
    // /root (mode 700), where the user nobody could not even execute bin/cnilab
    const capless = Bun.spawnSync(
      ["setpriv", "--bounding-set=-all", "--inh-caps=-all", "--ambient-caps=-all", CNILAB, "run", "2.5"],
      { env: { ...process.env, NO_COLOR: "1" } },
    );
    expect(capless.exitCode).toBe(2);
    expect(capless.stderr.toString()).toContain("needs root");
  });

  test("ip missing: exit 2 naming the package", async () => {
    const dir = `/tmp/cnilab-noip-${crypto.randomUUID().slice(0, 8)}`;
    const { mkdirSync, rmSync, symlinkSync } = await import("node:fs");
    mkdirSync(dir);
    try {
      for (
        const tool of ["readlink", "dirname", "nsenter", "ping", "busybox", "catatonit", "tcpdump", "sh"]
      ) {
        symlinkSync(Bun.which(tool)!, `${dir}/${tool}`);
      }
      const r = await cli(["run", "2.5"], { env: { PATH: dir } });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("ip not found; install with: apt-get install -y iproute2");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
