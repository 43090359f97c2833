/**
 * `cnilab bench sandbox`: what a pod sandbox costs on this machine, as a program that prints tables.
 *
 * 1. Latency: sandbox ready (pinned netns + CNI ADD of loopback and the bridge network + pause holder) and
 *    teardown (StopPodSandbox + RemovePodSandbox), each step's median over `--runs` (≥ 20) sandboxes.
 * 2. Scale: for each size in `--pods` (default 10, 110 — the kubelet's default max pods — and 500):
 *    create that many sandboxes, check each is reachable from the host (ping to its address, inside a
 *    namespace cnilab made), sum the holders' resident memory, then remove them all.
 * 3. If podman is installed: the same sandbox with `podman pod create` / `pod start` / `pod rm` on a
 *    conflist of the same shape (podman's CNI backend, see podman.ts), side by side with the ratio. A
 *    comparison that fails is a line of the report with podman's error; the other results stay.
 *
 * At scale the limit is the kernel's neighbour (ARP) table, measured here with 1000 pods: it is ONE table
 * for the whole machine — every network namespace's entries count against the same `gc_thresh3` (1024 by
 * default), a knob that exists only in the initial namespace (`/proc/sys/net/ipv4/neigh/default`). Each
 * pinged pod costs two entries: the host's for the pod and the pod's for its gateway. Past gc_thresh3 a new
 * entry is refused (ping: "No buffer space available"; the host's /proc/net/stat/arp_cache counted 229
 * table_fulls in one 1000-pod run) unless forced garbage collection finds entries older than 5 s. The
 * fix a node operator makes is raising gc_thresh2/3; the bench does so (through the sysctl ledger,
 * restored after) when the knob is visible, else it paces its probes so that entries age out. The next
 * limit is the bridge: at most 1023 ports (BR_MAX_PORTS 1024, port 0 reserved: net/bridge/br_if.c).
 * @module
 */
import { readFileSync } from "node:fs";
import process from "node:process";
import { parseArgs } from "node:util";
import Table from "cli-table3";
import { Owner, setSysctl } from "../ownership/mod.ts";
import { run, which } from "../shell/mod.ts";
import { podmanRuns } from "./podman.ts";
import {
  holderRssKiB,
  type NetworkChoice,
  removePodSandbox,
  runPodSandbox,
  type SandboxState,
} from "../sandbox/mod.ts";
import { randomHex as hex } from "../util/mod.ts";

/** Bad arguments: `cnilab bench` prints the message as one line and exits 2 (it goes by the name). */
export class UsageError extends Error {
  override name = "UsageError";
}

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
  /** How the neighbour table was made room for (see {@link NeighbourPlan}). */
  neighbour: NeighbourPlan;
  /** Probes refused with "No buffer space available" (a full neighbour table). */
  tableFull: number;
  /** Why the size did not run or stopped (the other results stay). */
  error?: string;
}

/** The most ports a Linux bridge takes: BR_MAX_PORTS (1024) less port 0 (net/bridge/br_if.c find_portno). */
export const BRIDGE_MAX_PORTS = 1023;

/** Entries of the neighbour table one reachable pod costs: the host's for the pod, the pod's for its gateway. */
export const NEIGH_ENTRIES_PER_POD = 2;

/** The kernel's default gc_thresh3 (net/core/neighbour.c arp_tbl). */
export const DEFAULT_GC_THRESH3 = 1024;

/** How a scale run makes room in the machine-wide neighbour table. */
export interface NeighbourPlan {
  /** Entries the pods need. */
  entries: number;
  /** gc_thresh3 as found (undefined: the knob is not visible from this network namespace). */
  gcThresh3?: number;
  /** raised: gc_thresh2/3 set for the run (restored after); paced: probes spaced; none: room enough. */
  action: "none" | "raised" | "paced";
  /** The values set, when raised. */
  raisedTo?: { gcThresh2: number; gcThresh3: number };
  /** The pause between probes, when paced (ms). */
  probeIntervalMs: number;
}

/** What the benchmark measured. */
export interface SandboxBenchReport {
  latency: { step: string; stats: Stats }[];
  scale: ScaleResult[];
  podman: { available: false; reason: string } | { available: true; error: string } | {
    available: true;
    version: string;
    readyMs: Stats;
    teardownMs: Stats;
    cnilabReadyMs: Stats;
    cnilabTeardownMs: Stats;
  };
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

const NEIGH_DEFAULT = "/proc/sys/net/ipv4/neigh/default";

function readNumber(path: string): number | undefined {
  try {
    return Number(readFileSync(path, "utf8").trim());
  } catch {
    return undefined;
  }
}

/**
 * Makes room in the neighbour table for `pods` pods, the way a node operator does: gc_thresh2 and gc_thresh3
 * raised (gc_thresh3 = the pods' entries + the kernel's default for the rest of the machine) through the
 * sysctl ledger, so they are restored when the owner is released. Where the knob is not visible (a
 * network namespace other than the initial one, e.g. a test's), the table cannot be changed from here:
 * the probes are paced instead, so that at most a quarter of the default gc_thresh3 is younger than the
 * 5 s the kernel's forced garbage collection leaves alone (the rest of the machine shares the table:
 * measured with half, the machine-wide count still reached 1024 and 6 of 1000 pods needed a retry).
 */
export async function planNeighbourTable(pods: number, owner: Owner): Promise<NeighbourPlan> {
  const entries = pods * NEIGH_ENTRIES_PER_POD;
  const gcThresh3 = readNumber(`${NEIGH_DEFAULT}/gc_thresh3`);
  const gcThresh2 = readNumber(`${NEIGH_DEFAULT}/gc_thresh2`) ?? 0;
  if (gcThresh3 === undefined) {
    const young = DEFAULT_GC_THRESH3 / 4;
    const paced = entries > young;
    return {
      entries,
      action: paced ? "paced" : "none",
      // 5 s × 2 entries per probe / (a quarter of gc_thresh3) ≈ 40 ms
      probeIntervalMs: paced ? Math.ceil((5000 * NEIGH_ENTRIES_PER_POD) / young) : 0,
    };
  }
  const need = entries + DEFAULT_GC_THRESH3;
  if (gcThresh3 >= need) return { entries, gcThresh3, action: "none", probeIntervalMs: 0 };
  const raisedTo = { gcThresh2: Math.max(gcThresh2, need - DEFAULT_GC_THRESH3 / 2), gcThresh3: need };
  await setSysctl(owner, "net.ipv4.neigh.default.gc_thresh2", String(raisedTo.gcThresh2));
  await setSysctl(owner, "net.ipv4.neigh.default.gc_thresh3", String(raisedTo.gcThresh3));
  return { entries, gcThresh3, action: "raised", raisedTo, probeIntervalMs: 0 };
}

/** One ping per try, up to `tries`; returns how many tries it took (0 = never) and whether the table was full. */
async function ping(ip: string, tries = 3): Promise<{ tries: number; tableFull: boolean }> {
  let tableFull = false;
  for (let i = 1; i <= tries; i++) {
    const r = await run(["ping", "-c", "1", "-W", "1", ip], { check: false, purpose: "read" });
    if (r.code === 0) return { tries: i, tableFull };
    if (/No buffer space available/.test(r.stderr + r.stdout)) tableFull = true;
    // an entry younger than 5 s cannot be collected: wait that out before the next try
    if (i < tries) await new Promise((resolve) => setTimeout(resolve, 5100));
  }
  return { tries: 0, tableFull };
}

async function scale(
  n: number,
  choice: NetworkChoice,
  label: string,
  say: (s: string) => void,
): Promise<ScaleResult> {
  const made: SandboxState[] = [];
  const owner = await Owner.begin("bench", `sandbox scale ${n}`);
  const result: ScaleResult = {
    pods: n,
    createMsPerPod: NaN,
    reachable: 0,
    retried: 0,
    holdersRssKiB: 0,
    removeMsPerPod: NaN,
    neighbour: { entries: n * NEIGH_ENTRIES_PER_POD, action: "none", probeIntervalMs: 0 },
    tableFull: 0,
  };
  try {
    if (n > BRIDGE_MAX_PORTS) {
      result.error = `not run: a Linux bridge takes at most ${BRIDGE_MAX_PORTS} ports`;
      return result;
    }
    result.neighbour = await planNeighbourTable(n, owner);
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      made.push(await runPodSandbox({ name: `bsbx-${label}-${n}-${i}` }, choice));
      if ((i + 1) % 50 === 0) say(`  scale ${n}: ${i + 1} created`);
    }
    result.createMsPerPod = (performance.now() - t0) / n;
    for (const [i, s] of made.entries()) {
      const started = performance.now();
      const p = s.status?.ip ? await ping(s.status.ip) : { tries: 0, tableFull: false };
      if (p.tries > 0) result.reachable++;
      if (p.tries > 1) result.retried++;
      if (p.tableFull) result.tableFull++;
      const rest = result.neighbour.probeIntervalMs - (performance.now() - started);
      if (rest > 0) await new Promise((resolve) => setTimeout(resolve, rest));
      if ((i + 1) % 100 === 0) say(`  scale ${n}: ${i + 1} probed`);
    }
    result.holdersRssKiB = made.reduce((sum, s) => sum + (s.holder ? holderRssKiB(s.holder) : 0), 0);
    const t1 = performance.now();
    while (made.length) await removePodSandbox((made.shift() as SandboxState).id);
    result.removeMsPerPod = (performance.now() - t1) / n;
    return result;
  } catch (error) {
    result.error = error instanceof Error ? error.message.split("\n")[0] : String(error);
    return result;
  } finally {
    for (const s of made) await removePodSandbox(s.id).catch(() => undefined);
    await owner.release();
  }
}

function fmt(ms: number): string {
  return Number.isFinite(ms) ? ms.toFixed(1) : "-";
}

function table(head: string[]): Table.Table {
  return new Table({ head, style: { head: [], border: [] } });
}

/** Wraps words into lines of at most `width` columns. */
function wrap(text: string, width = 78): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

/** What a scale run met in the neighbour table and what limit comes next, as lines of at most 78 columns. */
export function neighbourNotes(r: ScaleResult[]): string[] {
  const ran = r.filter((s) => !s.error?.startsWith("not run"));
  if (ran.length === 0) return [];
  const big = ran.reduce((a, b) => (a.pods >= b.pods ? a : b));
  const nb = big.neighbour;
  const found = nb.gcThresh3 === undefined ? "not visible in this netns" : String(nb.gcThresh3);
  let text = `Neighbour (ARP) table: one for the whole machine; every namespace's entries count ` +
    `against gc_thresh3 (kernel default ${DEFAULT_GC_THRESH3}; here: ${found}). A pinged pod costs ` +
    `${NEIGH_ENTRIES_PER_POD} (the host's for the pod, the pod's for its gateway): ${big.pods} pods = ` +
    `${nb.entries} entries.`;
  if (nb.action === "raised" && nb.raisedTo) {
    text += ` This run: gc_thresh2/3 raised to ${nb.raisedTo.gcThresh2}/${nb.raisedTo.gcThresh3} ` +
      `(restored after), as a node operator does in /etc/sysctl.d.`;
  } else if (nb.action === "paced") {
    text += ` The knob exists only in the initial network namespace: probes paced ` +
      `${nb.probeIntervalMs} ms apart, so entries age past the 5 s that garbage collection spares ` +
      `(a node operator raises gc_thresh2/3 instead).`;
  } else text += " Room enough: nothing changed.";
  const full = ran.reduce((n, s) => n + s.tableFull, 0);
  if (full) text += ` ${full} probe(s) met a full table ("No buffer space available").`;
  return [
    ...wrap(text),
    ...wrap(
      `Next limit: a Linux bridge takes at most ${BRIDGE_MAX_PORTS} ports; more pods on one node need ` +
        `more bridges or a CNI without one (routed, ipvlan).`,
    ),
  ];
}

/** Prints a report as the benchmark's tables. */
export function printReport(r: SandboxBenchReport): void {
  const lat = table(["step", "n", "median ms", "p90 ms", "min ms", "max ms"]);
  for (const { step, stats: s } of r.latency) {
    lat.push([step, s.n, fmt(s.median), fmt(s.p90), fmt(s.min), fmt(s.max)]);
  }
  console.log("Sandbox latency (netns + CNI ADD of loopback and bridge + pause;");
  console.log("teardown = stop + remove)");
  console.log(lat.toString());
  if (r.scale.length) {
    const sc = table(["pods", "create ms", "reachable", "retried", "RSS total", "RSS/pod", "rm ms"]);
    for (const s of r.scale) {
      if (s.error && !Number.isFinite(s.createMsPerPod)) {
        sc.push([s.pods, { colSpan: 6, content: s.error.slice(0, 58) }]);
        continue;
      }
      sc.push([
        s.pods,
        fmt(s.createMsPerPod),
        `${s.reachable}/${s.pods}`,
        s.retried,
        `${(s.holdersRssKiB / 1024).toFixed(1)} MiB`,
        `${Math.round(s.holdersRssKiB / s.pods)} KiB`,
        fmt(s.removeMsPerPod),
      ]);
    }
    console.log("\nScale (sandboxes created one after another, pinged from the host, removed;");
    console.log("ms per pod; retried: answered only a later ping)");
    console.log(sc.toString());
    for (const s of r.scale) {
      if (s.error && Number.isFinite(s.createMsPerPod)) console.log(`${s.pods} pods: ${s.error}`);
    }
    console.log(neighbourNotes(r.scale).join("\n"));
  }
  if (r.podman.available && "error" in r.podman) {
    console.log("\ncnilab vs podman: the comparison failed:");
    console.log(wrap(r.podman.error, 76).map((l) => `  ${l}`).join("\n"));
  } else if (r.podman.available) {
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
    console.log(`\ncnilab vs podman ${p.version} (pod create + start / pod rm -f; CNI backend,`);
    console.log(`reference bridge + host-local; n = ${p.readyMs.n})`);
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
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) {
    throw new UsageError(`--runs must be a positive integer, got ${values.runs}`);
  }
  const sizes = (values.pods ?? "").split(",").filter(Boolean).map(Number);
  if (sizes.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new UsageError(`--pods takes sizes like 10,110,500`);
  }
  if (values.plugins !== undefined && values.plugins !== "cnilab" && values.plugins !== "reference") {
    throw new UsageError(`--plugins is cnilab or reference, got ${values.plugins}`);
  }
  const choice: NetworkChoice = {
    confDir: values["conf-dir"],
    binDirs: values["bin-dir"]?.split(":").filter(Boolean),
    plugins: values.plugins as NetworkChoice["plugins"],
  };
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
    try {
      const p = await podmanRuns(runs, say);
      podmanReport = {
        available: true,
        version: p.version,
        readyMs: stats(p.ready),
        teardownMs: stats(p.teardown),
        cnilabReadyMs: lat.find((l) => l.step === "sandbox-ready")!.stats,
        cnilabTeardownMs: lat.find((l) => l.step.startsWith("teardown"))!.stats,
      };
    } catch (error) {
      podmanReport = {
        available: true,
        error: (error instanceof Error ? error.message : String(error)).split("\n")[0].slice(0, 400),
      };
    }
  }
  const report: SandboxBenchReport = { latency: lat, scale: scaleResults, podman: podmanReport };
  if (values.json) console.log(JSON.stringify(report, null, 2));
  else printReport(report);
  const unreachable = scaleResults.some((s) => s.reachable !== s.pods);
  if (unreachable && !values.json) console.error("some sandboxes were not reachable from the host");
  const failed = unreachable || (podmanReport.available && "error" in podmanReport);
  process.exitCode = failed ? 1 : 0;
  return failed ? 1 : 0;
}

/** `cnilab bench sandbox` (the shape of lib/cli/bench.ts's `Benchmark`; the CLI checks for root first). */
export const benchmark = {
  root: true,
  summary:
    "pod sandbox latency (netns + pause + CNI ADD), teardown, and 10/110/500-pod scale with holder memory",
  usage: `usage: cnilab bench sandbox [--runs N] [--pods 10,110,500] [--conf-dir DIR]
         [--bin-dir DIR[:DIR…]] [--plugins cnilab|reference] [--no-podman]
         [--json]

Latency: median over --runs (default 20, at least 20 for the numbers in docs)
of sandbox ready (pinned netns + CNI ADD of loopback and the bridge network +
pause holder) and teardown, step by step.
Scale: for each size in --pods, that many sandboxes created one after another,
each pinged from the host, holders' total RSS, then all removed; time per pod.
The machine-wide neighbour table is made room for (gc_thresh2/3 raised, and
restored after, or probes paced where the knob is not visible); sizes above
${BRIDGE_MAX_PORTS} (a bridge's most ports) are refused.
podman, when installed, runs the same sandbox with podman pod create/start/rm
(CNI backend, a config of the bench's own) and the ratio is printed; a
comparison that fails prints podman's error and the exit code is 1.`,
  run: runSandboxBench,
};
