/**
 * Every exercise, through the CLI as an attendee uses it: after `start` its check says "not yet" (exit 1)
 * with lines that name the command looked at and expected vs actual; after `solve` it passes (exit 0); after
 * `reset` the host is exactly as before (links, addresses, routes, namespaces, ip_forward, files under
 * /run/cnilab, /var/lib/cni and /etc/netns, marked processes).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { type Exercise, listExercises } from "../../lib/exercise/mod.ts";
import { listOwners } from "../../lib/ownership/mod.ts";
import { cli, hostSnapshot } from "../helpers.ts";

const exercises = listExercises();

/** What an attendee sees first on a fresh start: the failing line that tells them where they are. */
const FIRST_FAILURE: Record<string, RegExp> = {
  "wire-a-pod":
    /✗ one pod namespace named cni-exw-<uuid>: expected 1 match, got none {3}\$ ip -json netns list/,
  "two-pods":
    /✗ pod B's host end is a port of ext-br0 and up: expected \{"master":"ext-br0","up":true\}, got \{"master":null,"up":false\}/,
  "conf-pick": /✗ containerd \(max_conf_num 1\) picks network ex-pick: expected ex-pick, got cluster-net/,
  "containerd-config":
    /✗ this containerd loads network ex-cri from its conf_dir: expected ex-cri, got CNI config directory .*\/node\/etc\/cni\/net\.d does not exist/,
  "cni-add-by-hand": /✗ one sandbox namespace named cni-exf-<uuid>: expected 1 match, got none/,
  "leaky-plugin":
    /✗ no address of ex-leak is reserved while no pod uses the network: expected 0, got 3: 10\.231\.9\.2, 10\.231\.9\.3, 10\.231\.9\.4/,
  "own-plugin": /✗ .*\/bin\/ex-hello is an executable file: expected exists, got absent/,
  "localhost-pod":
    /✗ pod ex-localhost\/duo runs: expected pod ex-localhost\/duo, got no such pod {3}\$ cnilab pod ls --json/,
  "holder-pin": /✗ one namespace named cni-exh-<uuid>: expected 1 match, got none/,
  "pod-teardown": /✗ pod ex-teardown\/victim is gone: expected gone, got exists/,
};

/** True while another cnilab run (a lab, a test building pods) is creating and removing objects right now. */
async function othersBusy(): Promise<boolean> {
  return (await listOwners()).some((o) => o.info.kind !== "exercise" && !o.info.kept && o.creatorAlive());
}

/**
 * The host snapshot. When other cnilab runs are busy on this machine at the same time (engineers' tests in
 * parallel; CI runs serially), only the entries that this exercise could have touched are compared: its
 * declared names, cnilab's exercise state, libcni's cache. Otherwise everything is compared.
 */
function onlyMine(ex: Exercise, snap: Record<string, unknown>): Record<string, unknown> {
  const patterns = [...ex.names.netns, ...ex.names.links].map((p) => new RegExp(p));
  const mine = (entry: string) =>
    patterns.some((re) => re.test(entry.split(" ")[0])) || entry.startsWith("/run/cnilab/exercises") ||
    entry.startsWith("/var/lib/cni/results/ex-") || /^\/etc\/netns\/cni-ex/.test(entry);
  return Object.fromEntries(
    Object.entries(snap).filter(([k]) => k !== "ipForward" && k !== "processes")
      .map(([k, v]) => [k, Array.isArray(v) ? v.filter((e) => mine(String(e))) : v]),
  );
}

afterAll(async () => {
  // whatever a failed test left behind
  await cli(["exercise", "reset", "all"]);
});

test("there are at least 8 exercises and they cover every section of the chapter", () => {
  expect(exercises.length).toBeGreaterThanOrEqual(8);
  expect([...new Set(exercises.map((e) => e.section))].sort()).toEqual(["2.1", "2.2", "2.3", "2.4", "2.5"]);
  for (const ex of exercises) {
    expect(ex.hints.length).toBeGreaterThan(0);
    expect(ex.solution).toBeDefined();
    expect(ex.task).toContain("reset");
  }
});

describe.each(exercises.map((e) => [e.id]))("exercise %s", (id) => {
  test("not yet after start, passed after solve, host as before after reset", async () => {
    const ex = exercises.find((e) => e.id === id)!;
    const noisy = await othersBusy();
    const before = await hostSnapshot();
    try {
      const start = await cli(["exercise", "start", id]);
      expect(start.stderr).toBe("");
      expect(start.code).toBe(0);

      const first = await cli(["exercise", "check", id]);
      expect(first.stdout).toContain("verdict: not yet");
      expect(first.code).toBe(1);
      // a failing line says what it expected, what it found, and the command that looked
      const failing = first.stdout.split("\n").filter((l) => l.startsWith("✗"));
      expect(failing.length).toBeGreaterThan(0);
      for (const line of failing) expect(line).toMatch(/: expected .+, got .+ {3}\$ \S+/);
      if (FIRST_FAILURE[id]) expect(first.stdout).toMatch(FIRST_FAILURE[id]);

      const solve = await cli(["exercise", "solve", id]);
      expect(solve.stderr).toBe("");
      expect(solve.code).toBe(0);

      const second = await cli(["exercise", "check", id]);
      expect(second.stdout).toContain("verdict: passed");
      expect(second.stdout).not.toContain("✗");
      expect(second.code).toBe(0);
    } finally {
      const reset = await cli(["exercise", "reset", id]);
      expect(reset.code).toBe(0);
    }
    const after = await hostSnapshot();
    if (noisy || await othersBusy()) {
      console.warn(`${id}: other cnilab runs are busy; compared only what the exercise could touch`);
      expect(onlyMine(ex, after)).toEqual(onlyMine(ex, before));
    } else expect(after).toEqual(before);
  });
});
