/**
 * `cnilab bench sandbox` as a user runs it: the podman comparison runs on this machine and prints its ratio,
 * on a bridge the bench made and marked before podman used it and removed after; a comparison that fails
 * prints podman's error while every other result stays; a scale run says what the machine-wide
 * neighbour table needs and which limit comes next; the neighbour table's room is made the way a node
 * operator makes it, and given back.
 */
import { afterAll, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { link } from "../../lib/iproute2/mod.ts";
import { PODMAN_NETWORK } from "../../lib/bench/podman.ts";
import { DEFAULT_GC_THRESH3, planNeighbourTable } from "../../lib/bench/sandbox.ts";
import { Owner, readSysctl } from "../../lib/ownership/mod.ts";
import { which } from "../../lib/shell/mod.ts";
import { CNILAB } from "../helpers.ts";

const tmp = mkdtempSync("/tmp/tbench-");
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/**
 * Runs the bench in a mount namespace of its own where the cgroup hierarchies are mounted when /sys/fs/cgroup
 * is empty (a fresh sysfs, as in an isolated test run; on a normal host they are there and nothing is
 * mounted). Meanwhile polls the comparison's bridge: every sighting, with its alias.
 */
async function bench(args: string[], env: Record<string, string> = {}) {
  const mountCgroups = `if [ -z "$(ls /sys/fs/cgroup)" ]; then mount -t tmpfs tmpfs /sys/fs/cgroup;
    for c in cpu cpuacct cpuset memory devices freezer blkio pids; do mkdir -p /sys/fs/cgroup/$c;
    mount -t cgroup -o $c cgroup /sys/fs/cgroup/$c; done; fi`;
  const proc = Bun.spawn(
    [
      "unshare",
      "--mount",
      "--propagation",
      "private",
      "sh",
      "-c",
      `${mountCgroups}\nexec "$@"`,
      "sh",
      CNILAB,
      "bench",
      "sandbox",
      ...args,
    ],
    { env: { ...process.env, NO_COLOR: "1", ...env }, stdout: "pipe", stderr: "pipe" },
  );
  const sightings: (string | undefined)[] = [];
  let done = false;
  const poll = (async () => {
    while (!done) {
      const l = await link.get(PODMAN_NETWORK.bridge);
      if (l) sightings.push(l.alias);
      await Bun.sleep(20);
    }
  })();
  const [stdout, stderr] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
  ]);
  const code = await proc.exited;
  done = true;
  await poll;
  return { code, stdout, stderr, sightings };
}

function cgroupLeftovers(): string[] {
  const out: string[] = [];
  if (!existsSync("/sys/fs/cgroup")) return out;
  for (const h of readdirSync("/sys/fs/cgroup")) {
    try {
      for (const d of readdirSync(`/sys/fs/cgroup/${h}`)) {
        if (d.startsWith("cnilab-bench-")) out.push(`${h}/${d}`);
      }
    } catch {
      // not a directory
    }
  }
  return out;
}

test(
  "the podman comparison runs and prints its ratio; its bridge is marked while podman uses it, gone after",
  async () => {
    expect(which("podman")).toBeDefined(); // scripts/setup.sh installs it
    const libpodBefore = existsSync("/run/libpod");
    const r = await bench(["--runs", "3", "--pods", "2"]);
    expect(r.stderr).not.toContain("    at ");
    expect(r.stdout).toContain("Sandbox latency");
    expect(r.stdout).toMatch(/cnilab vs podman \d+\.\d+/);
    expect(r.stdout).toMatch(/│ sandbox ready +│ [\d.]+ +│ [\d.]+ +│ [\d.]+ +│/);
    expect(r.stdout).toMatch(/│ teardown +│ [\d.]+ +│ [\d.]+ +│ [\d.]+ +│/);
    expect(r.stdout).not.toContain("comparison failed");
    expect(r.code).toBe(0);
    // the bridge existed while podman ran, and every time it was seen it carried cnilab's mark
    expect(r.sightings.length).toBeGreaterThan(0);
    for (const alias of r.sightings) expect(alias).toMatch(/^cnilab:[0-9a-f]{8}$/);
    expect(await link.get(PODMAN_NETWORK.bridge)).toBeUndefined();
    expect(cgroupLeftovers()).toEqual([]);
    expect(existsSync("/run/libpod")).toBe(libpodBefore);
    const clean = Bun.spawnSync([CNILAB, "clean"]);
    expect(clean.stdout.toString()).toContain("nothing to clean");
  },
  240_000,
);

test(
  "a comparison that fails prints podman's error; latency, scale and the neighbour notes stay",
  async () => {
    // a podman that fails the way the real one did here before (runc refusing the rlimits)
    const fake = `${tmp}/bin`;
    Bun.spawnSync(["mkdir", "-p", fake]);
    writeFileSync(
      `${fake}/podman`,
      "#!/bin/sh\necho 'Error: runc: error setting rlimits for ready process: operation not permitted' >&2\nexit 126\n",
    );
    chmodSync(`${fake}/podman`, 0o755);
    const r = await bench(["--runs", "2", "--pods", "3,1024"], { PATH: `${fake}:${process.env.PATH}` });
    expect(r.stderr).not.toContain("    at ");
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("Sandbox latency");
    expect(r.stdout).toMatch(/│ sandbox-ready +│ 2 +│ [\d.]+/);
    expect(r.stdout).toMatch(/│ 3 +│ [\d.]+ +│ 3\/3 +│/);
    expect(r.stdout).toMatch(/│ 1024 +│ not run: a Linux bridge takes at most 1023 ports/);
    expect(r.stdout).toContain("3 pods = 6 entries");
    expect(r.stdout).toContain("Next limit: a Linux bridge takes at most 1023 ports");
    const failure = r.stdout.slice(r.stdout.indexOf("cnilab vs podman: the comparison failed:")).replace(
      /\n {2}/g,
      " ",
    );
    expect(failure).toMatch(
      /^cnilab vs podman: the comparison failed: `podman .*version --format \{\{\.Client\.Version\}\}` exited 126: Error: runc: error setting rlimits for ready process: operation not permitted\n/,
    );
    for (const line of r.stdout.split("\n")) expect(line.length).toBeLessThanOrEqual(80);
    // the bridge was made and marked before podman ran, and removed although podman failed
    for (const alias of r.sightings) expect(alias).toMatch(/^cnilab:[0-9a-f]{8}$/);
    expect(await link.get(PODMAN_NETWORK.bridge)).toBeUndefined();
    const clean = Bun.spawnSync([CNILAB, "clean"]);
    expect(clean.stdout.toString()).toContain("nothing to clean");
  },
  240_000,
);

test("room in the neighbour table for 600 pods: raised through the sysctl ledger and restored, or paced where the knob is not", async () => {
  const knob = "/proc/sys/net/ipv4/neigh/default/gc_thresh3";
  const owner = await Owner.begin("test", "neighbour table plan");
  try {
    if (existsSync(knob)) {
      // the initial network namespace (a node): the operator's fix, given back when the owner goes
      const before = [
        readSysctl("net.ipv4.neigh.default.gc_thresh2"),
        readSysctl("net.ipv4.neigh.default.gc_thresh3"),
      ];
      const plan = await planNeighbourTable(600, owner);
      if (Number(before[1]) >= 1200 + DEFAULT_GC_THRESH3) {
        expect(plan.action).toBe("none");
      } else {
        expect(plan.action).toBe("raised");
        expect(readSysctl("net.ipv4.neigh.default.gc_thresh3")).toBe(String(1200 + DEFAULT_GC_THRESH3));
        expect(Number(readSysctl("net.ipv4.neigh.default.gc_thresh2"))).toBeGreaterThanOrEqual(1200);
      }
      await owner.release();
      expect([
        readSysctl("net.ipv4.neigh.default.gc_thresh2"),
        readSysctl("net.ipv4.neigh.default.gc_thresh3"),
      ])
        .toEqual(before);
    } else {
      // another network namespace: the table (shared by the whole machine) cannot be changed from here
      const plan = await planNeighbourTable(600, owner);
      expect(plan).toEqual({ entries: 1200, action: "paced", probeIntervalMs: 40 });
      expect(await planNeighbourTable(100, owner)).toEqual({
        entries: 200,
        action: "none",
        probeIntervalMs: 0,
      });
    }
  } finally {
    await owner.release();
  }
});
