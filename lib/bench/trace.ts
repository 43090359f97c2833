/**
 * `cnilab bench trace`: what `cnilab trace` costs, as a program that prints tables.
 *
 * 1. Capture start-up, per interface: Debian's tcpdump in the interface's namespace, from spawn to
 *    "listening on" (pcap activated, filter set); the floor of ANY capture run as its own process in that
 *    namespace (`nsenter --net=… true`); and an AF_PACKET socket opened and bound in this process
 *    (setns → socket → bind → setns back, through bun:ffi; Bun only).
 * 2. A trace between two pods of the sandbox runtime (`--runs` times, default 10): total time of `trace()`
 *    (path, captures on 5 interfaces, one ping, analysis), against the 2 s budget.
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { link } from "../iproute2/mod.ts";
import { Owner } from "../ownership/mod.ts";
import { run } from "../shell/mod.ts";
import { removePodSandbox, runPodSandbox, type SandboxState } from "../sandbox/mod.ts";
import { startCapture, stopCaptures, trace } from "../trace/mod.ts";
import { randomHex } from "../util/mod.ts";

/** Median, p90 and max of a sample (ms). */
interface Stats {
  n: number;
  median: number;
  p90: number;
  max: number;
}

// the same summary as bench/sandbox.ts prints; not imported from there, which reaches up to lib/cli
function stats(xs: number[]): Stats {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * (s.length - 1) + 0.5))] ?? NaN;
  const median = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  return { n: s.length, median, p90: at(0.9), max: s[s.length - 1] };
}

const BUDGET_MS = 2000;

interface FfiLib {
  symbols: Record<string, (...args: unknown[]) => number>;
  close(): void;
}

/** setns + socket(AF_PACKET) + bind, in this process, through bun:ffi: µs per socket, or why not. */
async function afPacketOpenMs(ns: string, ifindex: number, runs: number): Promise<number[] | string> {
  if (!("Bun" in globalThis)) return "needs Bun (bun:ffi)";
  const ffi = await import("bun:ffi") as unknown as {
    dlopen(path: string, symbols: Record<string, { args: string[]; returns: string }>): FfiLib;
    ptr(b: Uint8Array): unknown;
  };
  const { closeSync, openSync } = await import("node:fs");
  const libc = ffi.dlopen("libc.so.6", {
    setns: { args: ["i32", "i32"], returns: "i32" },
    socket: { args: ["i32", "i32", "i32"], returns: "i32" },
    bind: { args: ["i32", "ptr", "u32"], returns: "i32" },
    close: { args: ["i32"], returns: "i32" },
  });
  const CLONE_NEWNET = 0x40000000;
  const AF_PACKET = 17;
  const SOCK_RAW = 3;
  const ETH_P_ALL_BE = 0x0300; // htons(ETH_P_ALL)
  const home = openSync("/proc/thread-self/ns/net", "r");
  const target = openSync(`/var/run/netns/${ns}`, "r");
  const out: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      if (libc.symbols.setns(target, CLONE_NEWNET) !== 0) return "setns failed";
      // protocol 0 here, ETH_P_ALL at bind: one hook registration (a socket made with ETH_P_ALL is already
      // hooked, and re-binding it to an interface unhooks it first, waiting an RCU grace period, ~10 ms)
      const fd = libc.symbols.socket(AF_PACKET, SOCK_RAW, 0);
      libc.symbols.setns(home, CLONE_NEWNET);
      if (fd < 0) return "socket(AF_PACKET) failed";
      const sll = new Uint8Array(20); // struct sockaddr_ll
      const v = new DataView(sll.buffer);
      v.setUint16(0, AF_PACKET, true);
      v.setUint16(2, ETH_P_ALL_BE, true);
      v.setInt32(4, ifindex, true);
      const ok = libc.symbols.bind(fd, ffi.ptr(sll), 20) === 0;
      out.push(performance.now() - t0);
      libc.symbols.close(fd);
      if (!ok) return "bind failed";
    }
  } finally {
    closeSync(home);
    closeSync(target);
    libc.close();
  }
  return out;
}

function row(name: string, s: Stats | string): string {
  if (typeof s === "string") return `  ${name.padEnd(44)} ${s}`;
  const f = (x: number) => x.toFixed(x < 1 ? 3 : 1).padStart(8);
  return `  ${name.padEnd(44)}${f(s.median)}${f(s.p90)}${f(s.max)}`;
}

/** `cnilab bench trace` (the shape of lib/cli/bench.ts's Benchmark). */
export const benchmark = {
  summary: "capture start-up (tcpdump vs AF_PACKET) and a pod-to-pod trace against its 2 s budget",
  usage: `usage: cnilab bench trace [--runs N] [--json]

Starts two pods on the sandbox runtime, then measures, --runs times (10):
  capture start-up   tcpdump in the pod's namespace until "listening on";
                     nsenter … true (the floor of any capture process); an
                     AF_PACKET socket bound in this process (bun:ffi, Bun only)
  trace pod ↔ pod    cnilab trace from one pod to the other, and where the
                     time goes, against the 2 s budget
The pods are removed at the end, also on error.`,
  async run(argv: string[]): Promise<number> {
    const { values } = parseArgs({
      args: argv,
      options: { runs: { type: "string" }, json: { type: "boolean" } },
    });
    if (process.getuid?.() !== 0) throw new Error("cnilab bench trace needs root: run it with sudo");
    const runs = Number(values.runs ?? 10);
    if (!Number.isInteger(runs) || runs < 1) {
      throw new Error(`--runs is a positive integer, got ${values.runs}`);
    }
    const say = values.json ? () => {} : (s: string) => console.error(s);
    const label = randomHex(3);
    const pods: SandboxState[] = [];
    const owner = await Owner.begin("bench", "cnilab bench trace");
    try {
      say("starting two pods");
      pods.push(await runPodSandbox({ name: `btrace-${label}-a` }));
      pods.push(await runPodSandbox({ name: `btrace-${label}-b` }));
      const [a, b] = pods;
      const nsA = a.netns.name;
      const eth0 = (await link.get("eth0", { netns: nsA }))!;

      say(`capture start-up: ${runs} × tcpdump, nsenter, AF_PACKET`);
      const tcpdump: number[] = [];
      for (let i = 0; i < runs; i++) {
        const c = await startCapture(owner, nsA, "eth0", "arp or icmp");
        try {
          await c.ready;
          tcpdump.push(c.startMs!);
        } finally {
          await stopCaptures([c]);
        }
      }
      const nsenter: number[] = [];
      for (let i = 0; i < runs; i++) {
        const t0 = performance.now();
        await run(["nsenter", `--net=/var/run/netns/${nsA}`, "--", "true"], { purpose: "read" });
        nsenter.push(performance.now() - t0);
      }
      const af = await afPacketOpenMs(nsA, eth0.index, runs);

      say(`trace: ${runs} × pod ↔ pod`);
      const total: number[] = [];
      const rtt: number[] = [];
      const phases = new Map<string, number[]>();
      let failed = 0;
      for (let i = 0; i < runs; i++) {
        const t0 = performance.now();
        const r = await trace({
          from: { ns: nsA, pod: `default/${a.name}` },
          to: { address: b.status!.ip!, pod: `default/${b.name}` },
        });
        total.push(performance.now() - t0);
        if (r.outcome.rttUs !== undefined) rtt.push(r.outcome.rttUs / 1000);
        for (const [k, v] of Object.entries(r.phasesMs)) phases.set(k, [...(phases.get(k) ?? []), v]);
        if (!r.outcome.replied) failed++;
      }
      const report = {
        runtime: "Bun" in globalThis ? "bun" : "deno",
        captureStartMs: {
          tcpdump: stats(tcpdump),
          nsenterTrue: stats(nsenter),
          afPacketInProcess: typeof af === "string" ? af : stats(af),
        },
        traceMs: stats(total),
        phasesMs: Object.fromEntries([...phases].map(([k, v]) => [k, stats(v)])),
        rttMs: stats(rtt),
        failed,
        budgetMs: BUDGET_MS,
      };
      if (values.json) console.log(JSON.stringify(report, null, 2));
      else {
        console.log(`cnilab bench trace (${report.runtime}, ${runs} runs each; ms)`);
        console.log(`  ${"".padEnd(44)}  median     p90     max`);
        console.log("capture start-up, per interface");
        console.log(row('tcpdump in the netns → "listening on"', report.captureStartMs.tcpdump));
        console.log(row("nsenter --net=… true (any capture process)", report.captureStartMs.nsenterTrue));
        console.log(
          row("AF_PACKET socket bound in-process (bun:ffi)", report.captureStartMs.afPacketInProcess),
        );
        console.log("trace pod ↔ pod (5 interfaces captured, one ping)");
        console.log(row("cnilab trace, total", report.traceMs));
        for (const [k, v] of Object.entries(report.phasesMs)) console.log(row(`  of which ${k}`, v));
        console.log(row("round trip seen on the pod's eth0", report.rttMs));
        const verdict = report.traceMs.max < BUDGET_MS ? "within" : "OVER";
        console.log(
          `trace pod ↔ pod: median ${report.traceMs.median.toFixed(0)} ms, max ${
            report.traceMs.max.toFixed(0)
          } ms: ${verdict} the ${BUDGET_MS} ms budget${failed ? `; ${failed} runs got no answer` : ""}`,
        );
      }
      return failed > 0 ? 1 : 0;
    } finally {
      for (const p of pods.reverse()) await removePodSandbox(p.id).catch(() => undefined);
      await owner.release();
      process.exitCode = process.exitCode ?? 0;
    }
  },
};
