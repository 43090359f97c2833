/**
 * The exercise runner as attendees and instructors meet it: "could not check" (exit 2) when the exercise's
 * environment is broken, the broken plugin caught and the fixed one passing, reset sparing look-alikes,
 * hints one at a time, the class dashboard, and an exercise added as plain files without touching the runner.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, existsSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { link, netns } from "../../lib/iproute2/mod.ts";
import { listOwners, processAlive, processStart } from "../../lib/ownership/mod.ts";
import { cli, hex } from "../helpers.ts";

const WORK = "/run/cnilab/exercises";
const resets: string[] = [];
afterEach(async () => {
  for (const id of resets.splice(0)) await cli(["exercise", "reset", id]);
});

describe("could not check (exit 2)", () => {
  test("an exercise with a starting state that was not started says so", async () => {
    const r = await cli(["exercise", "check", "two-pods"]);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain("could not check: not started");
    expect(r.stdout).toContain("run 'cnilab exercise start two-pods'");
    expect(r.stdout).toContain("verdict: could not check");
  });

  test("the attendee deleted the bridge the exercise needs: the line names it", async () => {
    resets.push("two-pods");
    expect((await cli(["exercise", "start", "two-pods"])).code).toBe(0);
    await link.del("ext-br0");
    const r = await cli(["exercise", "check", "two-pods"]);
    expect(r.code).toBe(2);
    expect(r.stdout.replace(/\n {6,}/g, " ")).toMatch(
      /\? link ext-br0 exists\n {4}could not check: link ext-br0 is missing: the bridge the pods plug into was deleted\n/,
    );
    expect(r.stdout).toContain("verdict: could not check");
  });

  test("an unknown exercise is bad input", async () => {
    const r = await cli(["exercise", "check", "no-such-exercise"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("no exercise 'no-such-exercise'");
  });
});

describe("leaky-plugin", () => {
  test("the check fails on the broken plugin even with the leaked addresses released, passes on a fixed one", async () => {
    resets.push("leaky-plugin");
    expect((await cli(["exercise", "start", "leaky-plugin"])).code).toBe(0);
    const dir = `${WORK}/leaky-plugin/ipam/ex-leak`;
    const leaked = readdirSync(dir).filter((f) => f.startsWith("10.231.9."));
    expect(leaked.length).toBe(3);
    for (const f of leaked) rmSync(`${dir}/${f}`);

    const broken = await cli(["exercise", "check", "leaky-plugin"]);
    expect(broken.code).toBe(1);
    // a troubleshooting exercise: only the first check not passing, what it observed
    expect(broken.stdout.replace(/\n {6,}/g, " ")).toMatch(
      /✗ CNI DEL released the pod's address\n {4}10\.231\.9\.\d+ is still reserved after DEL, which exited 0/,
    );
    expect(broken.stdout.split("\n").filter((l) => l.startsWith("✗")).length).toBe(1);
    const statuses = async () =>
      Object.fromEntries(
        (JSON.parse((await cli(["exercise", "check", "leaky-plugin", "--json"])).stdout) as {
          checks: { name: string; status: string }[];
        }).checks.map((c) => [c.name.replace(/ \(10\.231\.9\.\d+\)| 10\.231\.9\.\d+$/, ""), c.status]),
      );
    expect((await statuses())["no address of ex-leak is reserved while no pod uses the network"]).toBe(
      "pass",
    );
    // the check leaves no reservation of its own behind
    expect(readdirSync(dir).filter((f) => f.startsWith("10.231.9."))).toEqual([]);

    // a fixed plugin: the same wrapper, passing CNI_CONTAINERID through on DEL
    const plugin = `${WORK}/leaky-plugin/bin/ex-ipam`;
    const text = await Bun.file(plugin).text();
    writeFileSync(plugin, text.replace('CNI_CONTAINERID=$short exec "$HOST_LOCAL"', 'exec "$HOST_LOCAL"'));
    const fixed = await cli(["exercise", "check", "leaky-plugin"]);
    expect(fixed.stdout).toContain("verdict: passed");
    expect(fixed.code).toBe(0);
    expect((await statuses())["CNI DEL released"]).toBe("pass");
  });
});

test("reset removes the attempt and spares look-alikes made by someone else", async () => {
  resets.push("wire-a-pod");
  const decoyNs = [`cni-exv-${crypto.randomUUID()}`, `xcni-exw-${hex()}`];
  const decoyLink = `xexw${hex()}`;
  try {
    for (const n of decoyNs) await netns.add(n);
    await link.addBridge(decoyLink);
    expect((await cli(["exercise", "solve", "wire-a-pod"])).code).toBe(0);
    const reset = await cli(["exercise", "reset", "wire-a-pod"]);
    expect(reset.code).toBe(0);
    expect(reset.stdout).toContain("link exw-br0");
    const names = (await netns.list()).map((n) => n.name);
    expect(names.filter((n) => n.startsWith("cni-exw-"))).toEqual([]);
    for (const n of decoyNs) expect(names).toContain(n);
    expect(await link.get(decoyLink)).toBeDefined();
    expect(await link.get("exw-br0")).toBeUndefined();
  } finally {
    for (const n of decoyNs) await netns.del(n).catch(() => undefined);
    await link.del(decoyLink).catch(() => undefined);
  }
});

test("hints come one at a time, are remembered per exercise, shown again in order, and reset forgets them", async () => {
  resets.push("wire-a-pod", "conf-pick");
  const { loadExercise } = await import("../../lib/exercise/mod.ts");
  const hints = loadExercise("wire-a-pod").hints;
  const words = (t: string) => t.replace(/\s+/g, " ").trim();
  expect((await cli(["exercise", "hints", "wire-a-pod"])).stdout).toContain(
    "no hints taken yet for wire-a-pod",
  );
  const first = await cli(["exercise", "hint", "wire-a-pod"]);
  expect(first.stdout).toContain("hint 1 of 4 for wire-a-pod");
  expect(words(first.stdout)).toContain(words(hints[0]));
  expect((await cli(["exercise", "hint", "wire-a-pod"])).stdout).toContain("hint 2 of 4");
  // another exercise counts on its own
  expect((await cli(["exercise", "hint", "conf-pick"])).stdout).toContain("hint 1 of 3 for conf-pick");
  expect((await cli(["exercise", "hint", "wire-a-pod"])).stdout).toContain("hint 3 of 4");

  // shown again: every hint taken so far, in the order taken, and only those
  const again = await cli(["exercise", "hints", "wire-a-pod"], { env: { COLUMNS: "80" } });
  expect(again.code).toBe(0);
  const text = words(again.stdout);
  const at = [0, 1, 2].map((i) => text.indexOf(words(hints[i])));
  for (const i of at) expect(i).toBeGreaterThanOrEqual(0);
  expect([...at].sort((a, b) => a - b)).toEqual(at);
  expect(text.indexOf("hint 1 of 4")).toBeLessThan(text.indexOf("hint 2 of 4"));
  expect(text.indexOf("hint 2 of 4")).toBeLessThan(text.indexOf("hint 3 of 4"));
  expect(text).not.toContain(words(hints[3]));
  expect(text).not.toContain(
    words((await cli(["exercise", "hint", "conf-pick"])).stdout.split("\n\n")[1] ?? "-"),
  );
  for (const line of again.stdout.split("\n")) expect(line.length).toBeLessThanOrEqual(80);

  expect((await cli(["exercise", "hint", "wire-a-pod"])).stdout).toContain("hint 4 of 4");
  expect((await cli(["exercise", "hint", "wire-a-pod"])).stdout).toContain("all 4 hints taken");
  expect(words((await cli(["exercise", "hints", "wire-a-pod"])).stdout)).toContain(words(hints[3]));
  await cli(["exercise", "reset", "wire-a-pod"]);
  expect((await cli(["exercise", "hint", "wire-a-pod"])).stdout).toContain("hint 1 of 4");
});

test("check all: 'not started' for exercises never started, a verdict for the others (--json for a dashboard)", async () => {
  resets.push("conf-pick", "wire-a-pod");
  expect((await cli(["exercise", "solve", "conf-pick"])).code).toBe(0);
  // checking one exercise is working on it: from now on it has a verdict
  expect((await cli(["exercise", "check", "wire-a-pod"])).code).toBe(1);
  const r = await cli(["exercise", "check", "all", "--json"]);
  const report = JSON.parse(r.stdout) as {
    exercises: {
      id: string;
      verdict: string;
      code: number;
      started: boolean;
      checks: { status: string; command: string }[];
    }[];
  };
  const byId = Object.fromEntries(report.exercises.map((e) => [e.id, e]));
  expect(report.exercises.length).toBeGreaterThanOrEqual(10);
  expect(byId["conf-pick"]).toMatchObject({ verdict: "passed", code: 0, started: true });
  expect(byId["wire-a-pod"]).toMatchObject({ verdict: "not yet", code: 1, started: true });
  // never started: with a starting state (two-pods) and without one (localhost-pod)
  expect(byId["two-pods"]).toMatchObject({ verdict: "not started", code: 1, started: false });
  expect(byId["localhost-pod"]).toMatchObject({ verdict: "not started", code: 1, started: false });
  for (const e of report.exercises) for (const c of e.checks) expect(typeof c.command).toBe("string");
  expect(r.code).toBe(1);

  const table = await cli(["exercise", "check", "all"], { env: { COLUMNS: "80" } });
  expect(table.stdout).toMatch(/\ntwo-pods +not started +-\n/);
  expect(table.stdout).toMatch(/\nconf-pick +passed +\d+\/\d+\n/);
  // a never-started exercise's checks are not listed, the started ones' are
  expect(table.stdout).not.toContain("two-pods (2.5");
  expect(table.stdout).toContain("wire-a-pod (2.5 Wire a pod by hand)");
  for (const line of table.stdout.split("\n")) expect(line.length).toBeLessThanOrEqual(80);
});

test("an instructor adds an exercise as plain files, without touching the runner (docs/exercises.md, 'How an instructor adds an exercise')", async () => {
  const root = `/tmp/texr-${hex()}`;
  const env = { CNILAB_EXERCISES: root };
  const src = new URL("./testdata/hello-netns", import.meta.url).pathname;
  try {
    rmSync(root, { recursive: true, force: true });
    await Bun.$`mkdir -p ${root}/hello-netns`;
    for (const f of readdirSync(src)) copyFileSync(`${src}/${f}`, `${root}/hello-netns/${f}`);
    chmodSync(`${root}/hello-netns/solution.sh`, 0o755);
    expect((await cli(["exercise", "list"], { env })).stdout).toContain("hello-netns");
    const before = await cli(["exercise", "check", "hello-netns"], { env });
    expect(before.code).toBe(1);
    expect(before.stdout).toContain(
      "✗ one netns named like /^exhello-demo$/\n    there is no namespace named exhello-demo\n",
    );
    expect((await cli(["exercise", "solve", "hello-netns"], { env })).code).toBe(0);
    const after = await cli(["exercise", "check", "hello-netns"], { env });
    expect(after.stdout).toContain("✓ exhello-demo answers on loopback");
    expect(after.code).toBe(0);
  } finally {
    await cli(["exercise", "reset", "hello-netns"], { env });
    rmSync(root, { recursive: true, force: true });
  }
  expect(await netns.exists("exhello-demo")).toBe(false);
});

test("interleaved exercises: the last reset removes the shared state directory too", async () => {
  resets.push("conf-pick", "containerd-config");
  expect((await cli(["exercise", "start", "conf-pick"])).code).toBe(0);
  expect((await cli(["exercise", "start", "containerd-config"])).code).toBe(0);
  await cli(["exercise", "reset", "conf-pick"]);
  expect(existsSync(`${WORK}/containerd-config/config.toml`)).toBe(true);
  expect(existsSync(`${WORK}/conf-pick`)).toBe(false);
  await cli(["exercise", "reset", "containerd-config"]);
  expect(existsSync(WORK)).toBe(false);
});

test("what solve made is in the exercise's journal: releasing it (as cnilab clean does) stops the holder and app", async () => {
  resets.push("holder-pin");
  expect((await cli(["exercise", "solve", "holder-pin"])).code).toBe(0);
  const owner = (await listOwners()).find((o) =>
    o.info.kind === "exercise" && o.info.label === "holder-pin"
  )!;
  const ns = (await netns.list()).map((n) => n.name).find((n) => n.startsWith("cni-exh-"))!;
  const pids = await netns.pids(ns);
  expect(pids.length).toBe(2); // the pause holder and the app
  const removed = await owner.release();
  for (const pid of pids) expect(removed).toContain(`process ${pid}`);
  expect(removed).toContain(`netns ${ns}`);
  for (const pid of pids) expect(processAlive(pid, processStart(pid) ?? -1)).toBe(false);
  expect(existsSync(`${WORK}/holder-pin`)).toBe(false);
});
