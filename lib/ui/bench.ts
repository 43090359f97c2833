/**
 * `cnilab bench ui` (registered in lib/cli/bench.ts): how fast the live page follows the kernel, and how big a topology it draws, measured in
 * Debian's chromium (a program that prints tables; no test asserts on time).
 *
 * 1. Kernel change → on the page: a veth pair added (then removed) and a namespace added (then removed) by
 *    hand, `--runs` times each; the time from the command's start until the page's list shows (or no longer
 *    shows) it, and until its layout is applied. Once with the shipped source (kernel notifications:
 *    `ip monitor all-nsid` and a watch on /run/netns, with a 1 s poll behind them) and once with a poll
 *    alone every 250 ms, so the choice is a measurement.
 * 2. Scale: a topology of N pods (a bridge, N veth pairs, N namespaces with a holder, eth0 and lo), made up
 *    in memory and sent through the same server and page: time from the snapshot's arrival to its layout
 *    applied, and the longest gap between two animation frames meanwhile (a frozen page shows there).
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";
import Table from "cli-table3";
import type { Page } from "playwright-core";
import { Owner } from "../ownership/mod.ts";
import { batch, commands, link, netns } from "../iproute2/mod.ts";
import type { TopoLink, TopoNamespace } from "../topology/mod.ts";
import { launchBrowser } from "./browser.ts";
import type { Reading } from "./live.ts";
import type { Probe } from "./model.ts";
import { serveLive } from "./mod.ts";

/** The shape of `cnilab bench` modules (lib/cli/bench.ts's Benchmark; lib/cli is a layer above lib/ui). */
interface Benchmark {
  summary: string;
  usage: string;
  run(argv: string[]): Promise<number>;
}

/** Median and p90 of a sample (lib/bench has its own; importing it would close a circle through lib/cli). */
function stats(xs: number[]): { n: number; median: number; p90: number } {
  const s = [...xs].sort((a, b) => a - b);
  const median = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  return { n: s.length, median, p90: s[Math.min(s.length - 1, Math.floor(0.9 * (s.length - 1) + 0.5))] };
}

const probe = (page: Page) => page.evaluate(() => (globalThis as unknown as { __cnilab: Probe }).__cnilab);

/** The first reading after `seq0` that the page drew: when it showed, when it was laid out. */
async function firstAfter(page: Page, seq0: number): Promise<{ shown: number; laidOut: number }> {
  const p = await probe(page);
  const seqs = Object.keys(p.shownAt).map(Number).filter((s) => s > seq0).sort((a, b) => a - b);
  const s = seqs[0];
  for (let i = 0; i < 100 && p.laidOutAt[s] === undefined; i++) {
    await new Promise((r) => setTimeout(r, 20));
    Object.assign(p, await probe(page));
  }
  return { shown: p.shownAt[s], laidOut: p.laidOutAt[s] ?? NaN };
}

interface Latency {
  source: string;
  change: string;
  shown: number[];
  laidOut: number[];
}

async function latency(
  source: string,
  opts: { notifications: boolean; pollMs: number },
  runs: number,
  owner: Owner,
): Promise<Latency[]> {
  const live = await serveLive({ port: 0, ...opts });
  const browser = await launchBrowser();
  const out: Latency[] = [];
  try {
    const page = await browser.newPage({ viewport: { width: 1600, height: 900 } });
    await page.goto(live.server.url);
    await page.waitForFunction(() => (globalThis as unknown as { __cnilab: Probe }).__cnilab.seq > 0);
    const measure = async (
      change: string,
      act: () => Promise<void>,
      selector: string,
      state: "attached" | "detached",
    ) => {
      let row = out.find((r) => r.change === change);
      if (!row) out.push(row = { source, change, shown: [], laidOut: [] });
      const seq0 = (await probe(page)).seq;
      const t0 = Date.now();
      await act();
      await page.locator(selector).waitFor({ state, timeout: 10000 });
      const { shown, laidOut } = await firstAfter(page, seq0);
      row.shown.push(shown - t0);
      row.laidOut.push(laidOut - t0);
      await page.waitForTimeout(150); // let the page settle (fade-outs, the next poll)
    };
    for (let i = 0; i < runs; i++) {
      const name = `cnilabui${i}`;
      await owner.record({ kind: "link", name });
      await measure(
        "veth added",
        // created and marked in one `ip -batch`, so a kill in between never leaves an unmarked link
        async () => {
          await batch([commands.vethAdd(name, `${name}p`), commands.linkAlias(name, owner.mark)]);
        },
        `#topology-list li[data-id="host/${name}"]`,
        "attached",
      );
      await measure(
        "veth removed",
        async () => {
          await link.del(name);
        },
        `#topology-list li[data-id="host/${name}"]`,
        "detached",
      );
      await owner.forget({ kind: "link", name });
      const ns = `cnilabui-bench-${i}`;
      await owner.record({ kind: "netns", name: ns });
      await measure(
        "netns added",
        async () => {
          await netns.add(ns);
        },
        `#topology-list section[data-box="${ns}"]`,
        "attached",
      );
      await measure(
        "netns removed",
        async () => {
          await netns.del(ns);
        },
        `#topology-list section[data-box="${ns}"]`,
        "detached",
      );
      await owner.forget({ kind: "netns", name: ns });
    }
  } finally {
    await browser.close();
    live.close();
  }
  return out;
}

/** A made-up topology of `n` pods on one bridge, shaped like lab 2.5's. */
export function syntheticReading(n: number): Reading {
  const link = (ns: string, name: string, extra: Partial<TopoLink> = {}): TopoLink => ({
    ns,
    name,
    index: 1,
    up: true,
    mtu: 1500,
    addresses: [],
    ...extra,
  });
  const host: TopoLink[] = [link("host", "cnilab25", { kind: "bridge", addresses: ["10.88.0.1/16"] })];
  const namespaces: TopoNamespace[] = [];
  for (let i = 0; i < n; i++) {
    const ns = `cni-${i.toString(16).padStart(8, "0")}-0000-4000-8000-000000000000`;
    const veth = `veth${i.toString(16).padStart(8, "0")}`;
    host.push(link("host", veth, { kind: "veth", master: "cnilab25", peer: `${ns}/eth0` }));
    namespaces.push({
      name: ns,
      processes: [{ pid: 1000 + i, comm: "pause" }],
      links: [
        link(ns, "lo", { addresses: ["127.0.0.1/8"] }),
        link(ns, "eth0", {
          kind: "veth",
          addresses: [`10.88.${Math.floor((i + 2) / 256)}.${(i + 2) % 256}/16`],
          peer: `host/${veth}`,
        }),
      ],
      routes: ["default via 10.88.0.1 dev eth0", "10.88.0.0/16 dev eth0"],
    });
  }
  return { topology: { host: { links: host, routes: [] }, namespaces }, pods: [], runs: [] };
}

async function scale(
  n: number,
): Promise<{ n: number; nodes: number; layoutMs: number; elkMs: number; gapMs: number }> {
  const reading = syntheticReading(n);
  const live = await serveLive({
    port: 0,
    read: () => Promise.resolve(reading),
    notifications: false,
    pollMs: 60000,
  });
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage({ viewport: { width: 1600, height: 900 } });
    await page.goto(live.server.url);
    await page.waitForFunction(
      () => (globalThis as unknown as { __cnilab: Probe }).__cnilab.layoutMs[1] !== undefined,
      null,
      {
        timeout: 120000,
      },
    );
    const p = await probe(page);
    return { n, nodes: p.nodes, layoutMs: p.layoutMs[1], elkMs: p.phases.elkMs, gapMs: p.maxFrameGapMs };
  } finally {
    await browser.close();
    live.close();
  }
}

const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : "–");

/** `cnilab bench ui`. */
export const benchmark: Benchmark = {
  summary: "the browser page: kernel change → on the page, and N pods drawn and laid out",
  usage: `usage: cnilab bench ui [--runs N] [--pods N,N,…]

Measures the live page of 'cnilab ui' in Debian's chromium (headless, playwright-core):
  1. kernel change → on the page: a veth pair and a namespace added and removed by hand, --runs times each
     (default 10), with kernel notifications (what ships) and with a 250 ms poll alone;
  2. scale: a made-up topology of N pods (default 50,200,500) through the same server and page: time
     from the snapshot's arrival to its layout applied, and the longest frame gap meanwhile.
Goals (the issue's): median ≤ 300 ms; 500 pods drawn and laid out ≤ 2 s without freezing the page.
Run it inside a scratch network namespace if others share this host (it adds links named cnilabui*).`,
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: { runs: { type: "string" }, pods: { type: "string" } },
    });
    const runs = Number(values.runs ?? 10);
    const sizes = (values.pods ?? "50,200,500").split(",").map(Number);
    if (!Number.isInteger(runs) || runs < 1 || sizes.some((s) => !Number.isInteger(s) || s < 1)) {
      console.error("cnilab bench ui: --runs N and --pods N,N,… take positive whole numbers");
      return 2;
    }
    if (process.getuid?.() !== 0) {
      console.error("cnilab bench ui: run as root (sudo): it adds links and namespaces");
      return 2;
    }
    const owner = await Owner.begin("bench", "ui");
    const rows: Latency[] = [];
    try {
      rows.push(
        ...await latency("kernel notifications", { notifications: true, pollMs: 1000 }, runs, owner),
      );
      rows.push(...await latency("poll 250 ms", { notifications: false, pollMs: 250 }, runs, owner));
    } finally {
      await owner.release();
    }
    const t1 = new Table({
      head: ["source", "change", "n", "shown ms", "p90", "laid out ms", "p90"],
      style: { head: [], border: [] },
    });
    for (const r of rows) {
      const s = stats(r.shown);
      const l = stats(r.laidOut);
      t1.push([r.source, r.change, s.n, fmt(s.median), fmt(s.p90), fmt(l.median), fmt(l.p90)]);
    }
    console.log("kernel change → on the page (goal: median ≤ 300 ms; the shipped source is the first)");
    console.log(t1.toString());
    const t2 = new Table({
      head: ["pods", "nodes", "drawn ms", "of which layout", "longest frame gap ms"],
      style: { head: [], border: [] },
    });
    for (const n of sizes) {
      const r = await scale(n);
      t2.push([r.n, r.nodes, fmt(r.layoutMs), fmt(r.elkMs), fmt(r.gapMs)]);
    }
    console.log("\nN pods drawn and laid out (goal: 500 in ≤ 2000 ms, no frozen page)");
    console.log(t2.toString());
    process.exitCode = 0;
    return 0;
  },
};
