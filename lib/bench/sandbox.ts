/**
 * `cnilab bench sandbox`: what a pod sandbox costs on this machine, as a program that prints tables.
 *
 * 1. Latency: sandbox ready (pinned netns + CNI ADD of loopback and the bridge network + pause holder) and
 *    teardown (StopPodSandbox + RemovePodSandbox), each step's median over `--runs` (≥ 20) sandboxes.
 * 2. Scale: for each size in `--pods` (default 10, 110 — the kubelet's default max pods — and 500):
 *    create that many sandboxes, check each is reachable from the host (ping to its address, inside a
 *    namespace cnilab made), sum the holders' resident memory, then remove them all.
 * 3. If podman is installed: the same sandbox with `podman pod create` / `pod start` / `pod rm` on the same
 *    CNI config (podman's CNI backend), side by side with the ratio.
 * @module
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import process from "node:process";
import { parseArgs } from "node:util";
import Table from "cli-table3";
import type { Benchmark } from "../cli/bench.ts";
import { requireRoot } from "../cli/env.ts";
import { Owner } from "../ownership/mod.ts";
import { run, which } from "../shell/mod.ts";
import {
  defaultConflist,
  holderRssKiB,
  type NetworkChoice,
  removePodSandbox,
  runPodSandbox,
  type SandboxState,
} from "../sandbox/mod.ts";

/** Summary statistics of a sample (ms). */
export interface Stats {
  n: number;
  median: number;
  p90: number;
  min: number;
  max: number;
}

/** Median, p90, min and max of a sample. */
export function stats(xs: number[]): Stats {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * (s.length - 1) + 0.5))] ?? NaN;
  const median = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  return { n: s.length, median, p90: at(0.9), min: s[0], max: s[s.length - 1] };
}

/** One scale run. */
export interface ScaleResult {
  pods: number;
  createMsPerPod: number;
  reachable: number;
  /** Pods that answered only a second or third ping. */
  retried: number;
  holdersRssKiB: number;
  removeMsPerPod: number;
}

/** What the benchmark measured. */
export interface SandboxBenchReport {
  latency: { step: string; stats: Stats }[];
  scale: ScaleResult[];
  podman: { available: false; reason: string } | {
    available: true;
    readyMs: Stats;
    teardownMs: Stats;
    cnilabReadyMs: Stats;
    cnilabTeardownMs: Stats;
  };
}

function hex(n: number): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(n)), (b) => b.toString(16).padStart(2, "0")).join(
    "",
  );
}

function byStep(samples: SandboxState["timings"][], step: string): number[] {
  return samples.flatMap((t) => t.filter((x) => x.step === step).map((x) => x.ms));
}

/**
 * Sandbox latency in the steady state of a node: one unmeasured "anchor" sandbox stays up meanwhile, so the
 * bridge exists already (as cni0 does on a node with pods) and is not created and deleted on every run.
 */
async function latency(runs: number, choice: NetworkChoice, label: string, say: (s: string) => void) {
  const ready: SandboxState["timings"][] = [];
  const teardown: SandboxState["timings"][] = [];
  const anchor = await runPodSandbox({ name: `bsbx-${label}-anchor` }, choice);
  try {
    for (let i = 0; i < runs; i++) {
      const s = await runPodSandbox({ name: `bsbx-${label}-${i}` }, choice);
      ready.push(s.timings);
      teardown.push(await removePodSandbox(s.id));
      if ((i + 1) % 5 === 0) say(`  latency: ${i + 1}/${runs}`);
    }
  } finally {
    await removePodSandbox(anchor.id);
  }
  const steps = [
    ...["netns", "cni-add", "holder", "sandbox-ready"].map((step) => ({
      step,
      stats: stats(byStep(ready, step)),
    })),
    ...["holder-stop", "cni-del", "netns-unpin", "release", "sandbox-remove"].map((
      step,
    ) => ({
      step: step === "sandbox-remove" ? "teardown (stop + remove)" : step,
      stats: stats(byStep(teardown, step)),
    })),
  ];
  return steps;
}

/** Pings once, up to `tries` times; returns how many tries it took (0 = never answered). */
async function ping(ip: string, tries = 3): Promise<number> {
  for (let i = 1; i <= tries; i++) {
    if ((await run(["ping", "-c", "1", "-W", "1", ip], { check: false, purpose: "read" })).code === 0) {
      return i;
    }
  }
  return 0;
}

async function scale(
  n: number,
  choice: NetworkChoice,
  label: string,
  say: (s: string) => void,
): Promise<ScaleResult> {
  const made: SandboxState[] = [];
  try {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      made.push(await runPodSandbox({ name: `bsbx-${label}-${n}-${i}` }, choice));
      if ((i + 1) % 50 === 0) say(`  scale ${n}: ${i + 1} created`);
    }
    const createMs = performance.now() - t0;
    let reachable = 0;
    let retried = 0;
    for (const s of made) {
      const tries = s.status?.ip ? await ping(s.status.ip) : 0;
      if (tries > 0) reachable++;
      if (tries > 1) retried++;
    }
    const rss = made.reduce((sum, s) => sum + (s.holder ? holderRssKiB(s.holder) : 0), 0);
    const t1 = performance.now();
    while (made.length) await removePodSandbox((made.shift() as SandboxState).id);
    const removeMs = performance.now() - t1;
    return {
      pods: n,
      createMsPerPod: createMs / n,
      reachable,
      retried,
      holdersRssKiB: rss,
      removeMsPerPod: removeMs / n,
    };
  } finally {
    for (const s of made) await removePodSandbox(s.id).catch(() => undefined);
  }
}

/**
 * podman, when installed: `podman pod create` + `pod start` (infra container = catatonit pause, joined to the
 * CNI network) and `pod rm -f`, on the same conflist through podman's CNI backend.
 */
async function podman(
  runs: number,
  say: (s: string) => void,
): Promise<{ ready: number[]; teardown: number[] }> {
  const owner = await Owner.begin("bench", "podman comparison");
  const confDir = mkdtempSync("/tmp/cnilab-bench-podman-");
  await owner.record({ kind: "path", path: confDir, tree: true });
  try {
    mkdirSync(confDir, { recursive: true });
    // podman finds plugins in its own dirs (/usr/lib/cni): the reference plugins
    writeFileSync(`${confDir}/10-cnilab.conflist`, defaultConflist("reference"));
    const base = ["podman", "--network-backend", "cni", "--cni-config-dir", confDir];
    const ready: number[] = [];
    const teardown: number[] = [];
    for (let i = 0; i < runs; i++) {
      const name = `bsbx-podman-${hex(3)}-${i}`;
      await owner.record({
        kind: "undo",
        what: `podman pod rm ${name}`,
        argv: [...base, "pod", "rm", "-f", name],
      });
      const t0 = performance.now();
      await run([...base, "pod", "create", "--name", name, "--network", "cnilab-pods"]);
      await run([...base, "pod", "start", name]);
      ready.push(performance.now() - t0);
      const t1 = performance.now();
      await run([...base, "pod", "rm", "-f", name]);
      teardown.push(performance.now() - t1);
      if ((i + 1) % 5 === 0) say(`  podman: ${i + 1}/${runs}`);
    }
    return { ready, teardown };
  } finally {
    await owner.release();
    rmSync(confDir, { recursive: true, force: true });
  }
}

function fmt(ms: number): string {
  return Number.isFinite(ms) ? ms.toFixed(1) : "-";
}

function table(head: string[]): Table.Table {
  return new Table({ head, style: { head: [], border: [] } });
}

/** Prints a report as the benchmark's tables. */
export function printReport(r: SandboxBenchReport): void {
  const lat = table(["step", "n", "median ms", "p90 ms", "min ms", "max ms"]);
  for (const { step, stats: s } of r.latency) {
    lat.push([step, s.n, fmt(s.median), fmt(s.p90), fmt(s.min), fmt(s.max)]);
  }
  console.log(
    "Sandbox latency (netns + CNI ADD of loopback and bridge + pause holder; teardown = stop + remove)",
  );
  console.log(lat.toString());
  if (r.scale.length) {
    const sc = table([
      "pods",
      "create ms/pod",
      "reachable",
      "holders RSS total",
      "RSS/holder",
      "remove ms/pod",
    ]);
    for (const s of r.scale) {
      sc.push([
        s.pods,
        fmt(s.createMsPerPod),
        `${s.reachable}/${s.pods}${s.retried ? ` (${s.retried} on a retry)` : ""}`,
        `${(s.holdersRssKiB / 1024).toFixed(1)} MiB`,
        `${Math.round(s.holdersRssKiB / s.pods)} KiB`,
        fmt(s.removeMsPerPod),
      ]);
    }
    console.log("\nScale (sandboxes created one after another, pinged from the host, then removed)");
    console.log(sc.toString());
  }
  if (r.podman.available) {
    const p = r.podman;
    const cmp = table(["", "cnilab median ms", "podman median ms", "podman / cnilab"]);
    cmp.push([
      "sandbox ready",
      fmt(p.cnilabReadyMs.median),
      fmt(p.readyMs.median),
      (p.readyMs.median / p.cnilabReadyMs.median).toFixed(1),
    ]);
    cmp.push([
      "teardown",
      fmt(p.cnilabTeardownMs.median),
      fmt(p.teardownMs.median),
      (p.teardownMs.median / p.cnilabTeardownMs.median).toFixed(1),
    ]);
    console.log("\ncnilab vs podman (same conflist, podman's CNI backend)");
    console.log(cmp.toString());
  } else {
    console.log(`\npodman comparison: skipped (${r.podman.reason})`);
  }
}

/** Runs the benchmark with the command line's arguments; resolves to the exit code. */
export async function runSandboxBench(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      runs: { type: "string", default: "20" },
      pods: { type: "string", default: "10,110,500" },
      "conf-dir": { type: "string" },
      "bin-dir": { type: "string" },
      plugins: { type: "string" },
      "no-podman": { type: "boolean" },
      json: { type: "boolean" },
    },
  });
  requireRoot();
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) {
    throw new Error(`--runs must be a positive integer, got ${values.runs}`);
  }
  const sizes = (values.pods ?? "").split(",").filter(Boolean).map(Number);
  if (sizes.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`--pods takes sizes like 10,110,500`);
  const choice: NetworkChoice = {
    confDir: values["conf-dir"],
    binDirs: values["bin-dir"]?.split(":").filter(Boolean),
    plugins: values.plugins === undefined
      ? undefined
      : values.plugins === "reference"
      ? "reference"
      : "cnilab",
  };
  if (values.plugins !== undefined && values.plugins !== "cnilab" && values.plugins !== "reference") {
    throw new Error(`--plugins is cnilab or reference, got ${values.plugins}`);
  }
  const say = values.json ? () => {} : (s: string) => console.error(s);
  const label = hex(3);
  say(`latency: ${runs} sandboxes`);
  const lat = await latency(runs, choice, label, say);
  const scaleResults: ScaleResult[] = [];
  for (const n of sizes) {
    say(`scale: ${n} sandboxes`);
    scaleResults.push(await scale(n, choice, label, say));
  }
  let podmanReport: SandboxBenchReport["podman"];
  if (values["no-podman"]) podmanReport = { available: false, reason: "--no-podman" };
  else if (!which("podman")) podmanReport = { available: false, reason: "podman is not installed" };
  else {
    say(`podman: ${runs} pods`);
    const p = await podman(runs, say);
    const ready = lat.find((l) => l.step === "sandbox-ready")!.stats;
    const teardown = lat.find((l) => l.step.startsWith("teardown"))!.stats;
    podmanReport = {
      available: true,
      readyMs: stats(p.ready),
      teardownMs: stats(p.teardown),
      cnilabReadyMs: ready,
      cnilabTeardownMs: teardown,
    };
  }
  const report: SandboxBenchReport = { latency: lat, scale: scaleResults, podman: podmanReport };
  if (values.json) console.log(JSON.stringify(report, null, 2));
  else printReport(report);
  if (scaleResults.some((s) => s.reachable !== s.pods)) {
    if (!values.json) console.error("some sandboxes were not reachable from the host");
    return 1;
  }
  process.exitCode = 0;
  return 0;
}

/** `cnilab bench sandbox`. */
export const benchmark: Benchmark = {
  summary:
    "pod sandbox latency (netns + pause + CNI ADD), teardown, and 10/110/500-pod scale with holder memory",
  usage: `usage: cnilab bench sandbox [--runs N] [--pods 10,110,500] [--conf-dir DIR] [--bin-dir DIR[:DIR…]]
                            [--plugins cnilab|reference] [--no-podman] [--json]

Latency: median over --runs (default 20, at least 20 for the README's numbers) of sandbox ready (pinned
netns + CNI ADD of loopback and the bridge network + pause holder) and teardown, step by step.
Scale: for each size in --pods, that many sandboxes created one after another, each pinged from the host,
holders' total RSS, then all removed; time per pod. podman, when installed, runs the same sandbox with
podman pod create/start/rm on the same conflist (CNI backend) and the ratio is printed.`,
  run: runSandboxBench,
};
