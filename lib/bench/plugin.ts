/**
 * `cnilab bench plugin`: ADD+DEL latency and peak memory of cnilab-bridge + cnilab-host-local against the
 * reference bridge + host-local (/usr/lib/cni), on the same configuration, interleaved run by run so both
 * see the same machine load. A program that prints a table; nothing here asserts on time.
 *
 * What it measures:
 * - latency: wall time from spawning the plugin to its exit (one ADD, then one DEL of the same attachment,
 *   in a namespace of its own, the bridge already there: the steady state of a node), and of a VERSION
 *   call, next to an empty compiled Bun program built at the start (the floor a Bun plugin cannot beat);
 * - peak memory: GNU time's %M (wait4's ru_maxrss: the largest resident set of the plugin or any child it
 *   waited for, e.g. an exec'd IPAM plugin), over extra ADD+DEL runs made only for it, so the timed runs
 *   carry no wrapper;
 * - where cnilab's time goes: extra runs with CNILAB_PLUGIN_TRACE=1, the median of each phase.
 * Then it prints the issue's targets (ADD ≤ 0.8× the reference, DEL ≤ 1.0×, VERSION ≤ 1.2× the empty
 * program, peak RSS ≤ 30 MiB) as rows with the measured ratio and whether it is met.
 * It creates and removes its own namespaces, bridges and dataDir (recorded with the ownership journal, so
 * `cnilab clean` removes them after a crash) and restores net.ipv4.ip_forward.
 * @module
 */
import Table from "cli-table3";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";
import { batch, commands, netns } from "../iproute2/mod.ts";
import { Owner, setSysctl } from "../ownership/mod.ts";
import { run, useBunBackend } from "../shell/mod.ts";
import { randomHex as hex, REPO_ROOT } from "../util/mod.ts";

/** One implementation under test. */
interface Subject {
  label: string;
  exe: string;
  path: string;
  config: string;
  netns: string;
  env?: Record<string, string>;
}

/** Measurements of one subject. */
export interface Series {
  label: string;
  addMs: number[];
  delMs: number[];
  /** CNI_COMMAND=VERSION (for the empty program: just running it). */
  versionMs: number[];
  /** Largest resident set seen, KiB (GNU time %M); undefined without /usr/bin/time. */
  peakRssKiB?: number;
  /** Phase → ms spent in it, per traced run (cnilab with IPAM in-process only). */
  phases?: { add: Record<string, number[]>; del: Record<string, number[]> };
}

/** The label of the empty compiled Bun program's row. */
export const EMPTY_BUN = "empty Bun program";

/** Options of {@link benchPlugin}. */
export interface PluginBenchOptions {
  /** Timed ADD+DEL pairs per subject (default 20). */
  runs: number;
  /** Extra ADD+DEL pairs per subject under /usr/bin/time for memory (default 5). */
  memoryRuns: number;
  /** Extra ADD+DEL pairs of cnilab with CNILAB_PLUGIN_TRACE=1, for the phases (default 10). */
  phaseRuns: number;
  /** Directory with cnilab-bridge and cnilab-host-local (default dist/cni). */
  cnilabDir: string;
  /** Directory with the reference bridge and host-local (default /usr/lib/cni). */
  referenceDir: string;
  /** Add `ipMasq: true` (NAT rules per attachment) to the config. */
  ipMasq: boolean;
  /** Also measure cnilab with its IPAM plugin exec'd (CNILAB_IPAM_EXEC=1) instead of run in-process. */
  execVariant: boolean;
  /** Progress lines (stderr). */
  log?: (line: string) => void;
}

const REPO = REPO_ROOT;

/** Default options. */
export const DEFAULTS: PluginBenchOptions = {
  runs: 20,
  memoryRuns: 5,
  phaseRuns: 10,
  cnilabDir: `${REPO}/dist/cni`,
  referenceDir: "/usr/lib/cni",
  ipMasq: false,
  execVariant: true,
};

/** The p-th percentile (nearest rank) of a list of numbers. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/** The median of a list of numbers. */
export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function cniEnv(s: Subject, command: "ADD" | "DEL" | "VERSION"): Record<string, string> {
  return {
    CNI_COMMAND: command,
    CNI_CONTAINERID: "cnilab-bench",
    CNI_NETNS: `/var/run/netns/${s.netns}`,
    CNI_IFNAME: "eth0",
    CNI_PATH: s.path,
    ...s.env,
  };
}

async function invoke(
  s: Subject,
  command: "ADD" | "DEL" | "VERSION",
  wrap: string[] = [],
  env: Record<string, string> = {},
): Promise<{ ms: number; err: string }> {
  const r = await run([...wrap, s.exe], {
    stdin: s.config,
    env: { ...cniEnv(s, command), ...env },
    check: false,
  });
  if (r.code !== 0) {
    throw new Error(`${s.label} ${command} failed (exit ${r.code}): ${r.stdout.trim() || r.stderr.trim()}`);
  }
  return { ms: r.durationMs, err: r.stderr };
}

/** Runs the benchmark; returns one series per subject, the reference first. */
export async function benchPlugin(options: Partial<PluginBenchOptions> = {}): Promise<Series[]> {
  const opts = { ...DEFAULTS, ...options };
  const log = opts.log ?? (() => {});
  for (const exe of [`${opts.cnilabDir}/cnilab-bridge`, `${opts.referenceDir}/bridge`]) {
    if (!existsSync(exe)) {
      throw new Error(`${exe} is missing (build cnilab's plugins with \`npm run build\`)`);
    }
  }
  if ((globalThis as { Bun?: unknown }).Bun) useBunBackend(); // spawnSync: no event-loop jitter in the timings
  const owner = await Owner.begin("bench", "cnilab bench plugin");
  try {
    const id = hex(3);
    const dataDir = mkdtempSync("/tmp/cnilab-bench-ipam-");
    await owner.record({ kind: "path", path: dataDir, tree: true }); // holds the IPAM files
    const empty = await buildEmptyBunProgram(owner);
    const config = (type: string, ipam: string, bridge: string, n: number) =>
      JSON.stringify({
        cniVersion: "1.0.0",
        name: `bench-${id}-${n}`,
        type,
        bridge,
        isGateway: true,
        ipMasq: opts.ipMasq,
        ipam: { type: ipam, subnet: `10.254.${n}.0/24`, dataDir },
      });
    const subjects: Subject[] = [
      {
        label: "reference bridge + host-local",
        exe: `${opts.referenceDir}/bridge`,
        path: opts.referenceDir,
        config: config("bridge", "host-local", `bnr${id}`, 1),
        netns: `bnch-${id}-r`,
      },
      {
        label: "cnilab-bridge + cnilab-host-local",
        exe: `${opts.cnilabDir}/cnilab-bridge`,
        path: opts.cnilabDir,
        config: config("cnilab-bridge", "cnilab-host-local", `bnc${id}`, 2),
        netns: `bnch-${id}-c`,
      },
    ];
    if (opts.execVariant) {
      subjects.push({
        label: "cnilab, IPAM exec'd (CNILAB_IPAM_EXEC=1)",
        exe: `${opts.cnilabDir}/cnilab-bridge`,
        path: opts.cnilabDir,
        config: config("cnilab-bridge", "cnilab-host-local", `bne${id}`, 3),
        netns: `bnch-${id}-e`,
        env: { CNILAB_IPAM_EXEC: "1" },
      });
    }
    // the reference sets ip_forward=1 (isGateway) and never restores it: the ledger does
    await setSysctl(owner, "net.ipv4.ip_forward", "1");
    for (const s of subjects) {
      await owner.record({ kind: "netns", name: s.netns });
      await netns.add(s.netns);
      // pre-created and marked, so teardown (and `cnilab clean`) removes it; the plugins find it there
      const bridge = (JSON.parse(s.config) as { bridge: string }).bridge;
      await owner.record({ kind: "link", name: bridge });
      await batch([commands.bridgeAdd(bridge), commands.linkAlias(bridge, owner.mark)]);
      await owner.record({
        kind: "undo",
        what: `DEL of the bench attachment (${s.label})`,
        argv: [s.exe],
        env: cniEnv(s, "DEL"),
        stdin: s.config,
      });
    }
    log(`warming up (page cache): 2 ADD+DEL per subject`);
    for (const s of subjects) {
      for (let i = 0; i < 2; i++) {
        await invoke(s, "ADD");
        await invoke(s, "DEL");
      }
    }
    const series: Series[] = subjects.map((s) => ({ label: s.label, addMs: [], delMs: [], versionMs: [] }));
    const floor: Series = { label: EMPTY_BUN, addMs: [], delMs: [], versionMs: [] };
    const emptySubject = { ...subjects[0], label: EMPTY_BUN, exe: empty };
    for (let r = 0; r < opts.runs; r++) {
      // alternate who goes first so neither always runs right after the other's DEL
      const order = subjects.map((_, i) => i);
      if (r % 2 === 1) order.reverse();
      for (const i of order) {
        series[i].addMs.push((await invoke(subjects[i], "ADD")).ms);
        series[i].delMs.push((await invoke(subjects[i], "DEL")).ms);
        series[i].versionMs.push((await invoke(subjects[i], "VERSION")).ms);
        if (i === 1) floor.versionMs.push((await invoke(emptySubject, "VERSION")).ms);
      }
      if ((r + 1) % 5 === 0) log(`run ${r + 1}/${opts.runs}`);
    }
    if (existsSync("/usr/bin/time") && opts.memoryRuns > 0) {
      log(`memory: ${opts.memoryRuns} ADD+DEL per subject under /usr/bin/time`);
      for (let r = 0; r < opts.memoryRuns; r++) {
        for (const [i, s] of subjects.entries()) {
          for (const command of ["ADD", "DEL"] as const) {
            // GNU time writes its report last on stderr
            const { err } = await invoke(s, command, ["/usr/bin/time", "-f", "cnilab-maxrss=%M"]);
            const kib = Number(err.match(/cnilab-maxrss=(\d+)/)?.[1] ?? NaN);
            if (Number.isFinite(kib)) series[i].peakRssKiB = Math.max(series[i].peakRssKiB ?? 0, kib);
          }
        }
        const { err } = await invoke(emptySubject, "VERSION", ["/usr/bin/time", "-f", "cnilab-maxrss=%M"]);
        const kib = Number(err.match(/cnilab-maxrss=(\d+)/)?.[1] ?? NaN);
        if (Number.isFinite(kib)) floor.peakRssKiB = Math.max(floor.peakRssKiB ?? 0, kib);
      }
    }
    if (opts.phaseRuns > 0) {
      log(`phases: ${opts.phaseRuns} ADD+DEL of cnilab with CNILAB_PLUGIN_TRACE=1`);
      const phases = { add: {}, del: {} } as NonNullable<Series["phases"]>;
      const trace = { CNILAB_PLUGIN_TRACE: "1" };
      for (let r = 0; r < opts.phaseRuns; r++) {
        for (const command of ["ADD", "DEL"] as const) {
          const out = await invoke(subjects[1], command, [], trace);
          collectPhases(phases[command === "ADD" ? "add" : "del"], out.err, out.ms);
        }
      }
      series[1].phases = phases;
    }
    return [...series, floor];
  } finally {
    const removed = await owner.release();
    log(`removed: ${removed.join(", ")}`);
  }
}

/** Compiles a program that does nothing, as the plugins are compiled: the floor of any Bun plugin. */
async function buildEmptyBunProgram(owner: Owner): Promise<string> {
  const dir = mkdtempSync("/tmp/cnilab-bench-empty-");
  await owner.record({ kind: "path", path: dir, tree: true });
  writeFileSync(`${dir}/empty.ts`, "export {};\n");
  await run([
    `${REPO}/node_modules/.bin/bun`,
    "build",
    "--compile",
    "--minify",
    "--bytecode",
    `${dir}/empty.ts`,
    "--outfile",
    `${dir}/empty`,
  ], { purpose: "action" });
  return `${dir}/empty`;
}

/**
 * Adds one traced run's phases: lines `cnilab-bridge:   12.34 ms  ADD: host side done` (ms since the
 * process started) become "the time until the first line" and the time between consecutive lines; what
 * is left until the parent saw the exit is "exit".
 */
export function collectPhases(into: Record<string, number[]>, stderr: string, wallMs: number): void {
  let last = 0;
  let first = true;
  for (const m of stderr.matchAll(/cnilab-bridge:\s+([\d.]+) ms\s+(?:ADD|DEL): (.+)/g)) {
    const at = Number(m[1]);
    const label = first ? `start-up, ${m[2]}` : m[2];
    (into[label] ??= []).push(at - last);
    last = at;
    first = false;
  }
  if (!first) (into["exit (until the parent sees it)"] ??= []).push(Math.max(0, wallMs - last));
}

/** The targets: ratio limits for ADD, DEL and VERSION, and a peak RSS limit. */
export const TARGETS = { add: 0.8, del: 1.0, version: 1.2, rssMiB: 30 };

const table = (head: string[]) => new Table({ head, style: { head: [], border: [] } });
const num = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : "n/a");
const mib = (kib?: number) => (kib ? `${(kib / 1024).toFixed(1)} MiB` : "n/a");
const SHORT: Record<string, string> = {
  "reference bridge + host-local": "reference (Go)",
  "cnilab-bridge + cnilab-host-local": "cnilab",
  "cnilab, IPAM exec'd (CNILAB_IPAM_EXEC=1)": "cnilab IPAM exec'd",
};

/** The tables `cnilab bench plugin` prints: latency, the targets, where cnilab's time goes. */
export function renderPluginTable(series: Series[]): string {
  const latency = table(["medians, ms", "ADD", "p90", "DEL", "p90", "VERSION", "peak RSS"]);
  for (const s of series) {
    const empty = s.label === EMPTY_BUN;
    latency.push([
      SHORT[s.label] ?? s.label,
      empty ? "" : num(median(s.addMs)),
      empty ? "" : num(percentile(s.addMs, 90)),
      empty ? "" : num(median(s.delMs)),
      empty ? "" : num(percentile(s.delMs, 90)),
      num(median(s.versionMs)),
      mib(s.peakRssKiB),
    ]);
  }
  const [ref, mine] = series;
  const floor = series.find((s) => s.label === EMPTY_BUN);
  const targets = table(["target", "measured", "limit", "met"]);
  const row = (what: string, value: number, limit: number, unit: "x" | " MiB") => {
    const ok = value <= limit;
    const shown = unit === "x" ? `${value.toFixed(2)}x` : `${value.toFixed(1)} MiB`;
    const over = unit === "x" ? `+${(value - limit).toFixed(2)}x` : `+${(value - limit).toFixed(1)} MiB`;
    targets.push([what, shown, `<= ${limit}${unit === "x" ? "x" : " MiB"}`, ok ? "yes" : `NO (${over})`]);
  };
  row("ADD: cnilab / reference", median(mine.addMs) / median(ref.addMs), TARGETS.add, "x");
  row("DEL: cnilab / reference", median(mine.delMs) / median(ref.delMs), TARGETS.del, "x");
  if (floor) {
    row(
      "VERSION: cnilab / empty Bun",
      median(mine.versionMs) / median(floor.versionMs),
      TARGETS.version,
      "x",
    );
  }
  if (mine.peakRssKiB) row("peak RSS: cnilab", mine.peakRssKiB / 1024, TARGETS.rssMiB, " MiB");
  const parts = [latency.toString(), targets.toString()];
  parts.push(
    `Bun's own floor: the empty program peaks at ${mib(floor?.peakRssKiB)} (~25 MiB is Bun's); the Go ` +
      `reference's ${mib(ref.peakRssKiB)} is out of reach for a JavaScript runtime.`,
  );
  if (mine.phases) {
    for (const [command, phases] of Object.entries(mine.phases)) {
      const t = table([`cnilab ${command.toUpperCase()}: where the time goes`, "median ms"]);
      for (const [phase, values] of Object.entries(phases)) t.push([phase, num(median(values))]);
      parts.push(t.toString());
    }
  }
  return parts.join("\n");
}

const usage = `usage: cnilab bench plugin [--runs N] [--memory-runs N] [--phase-runs N] [--masq]
                          [--no-exec-variant] [--cnilab-dir DIR] [--reference-dir DIR] [--json]

ADD+DEL+VERSION of cnilab-bridge + cnilab-host-local against the reference bridge + host-local on the
same config (isGateway, host-local /24; --masq adds ipMasq), interleaved, in namespaces it creates and
removes, beside an empty compiled Bun program. Prints median and p90 latency, peak RSS (GNU time %M over
extra runs), the targets (ADD <= 0.8x the reference, DEL <= 1.0x, VERSION <= 1.2x the empty program,
peak RSS <= 30 MiB) met or not, and where cnilab's time goes (CNILAB_PLUGIN_TRACE=1 phases).

options:
  --runs N            timed ADD+DEL pairs per subject (default ${DEFAULTS.runs})
  --memory-runs N     extra pairs under /usr/bin/time for peak memory (default ${DEFAULTS.memoryRuns}; 0 = skip)
  --phase-runs N      extra traced pairs of cnilab for the phases (default ${DEFAULTS.phaseRuns}; 0 = skip)
  --masq              add "ipMasq": true to the config
  --no-exec-variant   skip the row with cnilab's IPAM exec'd instead of run in-process
  --cnilab-dir DIR    cnilab's plugins (default dist/cni)
  --reference-dir DIR reference plugins (default /usr/lib/cni)
  --json              print the measurements as JSON instead of the table`;

/** The `plugin` entry of `cnilab bench`. */
export const benchmark = {
  summary: "cnilab-bridge + cnilab-host-local vs the reference plugins: ADD/DEL latency and memory",
  usage,
  async run(argv: string[]): Promise<number> {
    const { values } = parseArgs({
      args: argv,
      options: {
        runs: { type: "string" },
        "memory-runs": { type: "string" },
        "phase-runs": { type: "string" },
        masq: { type: "boolean" },
        "no-exec-variant": { type: "boolean" },
        "cnilab-dir": { type: "string" },
        "reference-dir": { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
    if (values.help) {
      console.log(usage);
      return 0;
    }
    const count = (v: string | undefined, fallback: number, what: string) => {
      if (v === undefined) return fallback;
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) {
        throw new Error(`${what} must be a whole number, got ${JSON.stringify(v)}`);
      }
      return n;
    };
    const runs = count(values.runs, DEFAULTS.runs, "--runs");
    if (runs < 1) throw new Error("--runs must be at least 1");
    const series = await benchPlugin({
      runs,
      memoryRuns: count(values["memory-runs"], DEFAULTS.memoryRuns, "--memory-runs"),
      phaseRuns: count(values["phase-runs"], DEFAULTS.phaseRuns, "--phase-runs"),
      ipMasq: values.masq ?? false,
      execVariant: !values["no-exec-variant"],
      cnilabDir: values["cnilab-dir"] ? resolve(values["cnilab-dir"]) : DEFAULTS.cnilabDir,
      referenceDir: values["reference-dir"] ? resolve(values["reference-dir"]) : DEFAULTS.referenceDir,
      log: (line) => console.error(`bench plugin: ${line}`),
    });
    if (values.json) {
      console.log(JSON.stringify(series, null, 2));
    } else {
      console.log(renderPluginTable(series));
      console.log(
        "latency: spawn to exit of one plugin call (bridge already present, same netns reused);\n" +
          "peak RSS: wait4 ru_maxrss via GNU time %M (the plugin and the children it waited for)",
      );
    }
    return 0;
  },
};

if (import.meta.main) process.exit(await benchmark.run(process.argv.slice(2)));
