/**
 * The generated bad-input suite: several hundred invocations of cnilab-bridge, cnilab-host-local and
 * cnilab-loopback on bad input (bad-input-cases.ts makes them from tables), each asserting the exit code,
 * the error JSON's code and message, and that neither the host nor the container namespace changed.
 *
 * Every plugin runs inside a namespace that stands in for the host (standin.ts), next to a container
 * namespace, so a plugin that mistook one for the other could only damage the stand-in, and the snapshot
 * of both (links, addresses, routes of every table and family, NAT rules, forwarding sysctls) would show
 * it; the data directory must hold no reservation afterwards. A few workers, each with its own pair of
 * namespaces and data directory, run the cases at once (one case at a time per pair, so each snapshot
 * belongs to one case); a pair a case changed is replaced so the next case starts clean.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import {
  baseConfig,
  baseEnv,
  type Case,
  type Fixture,
  generateCases,
  type PluginName,
} from "./bad-input-cases.ts";
import { cnilab, CNILAB_BIN, ensurePlugins, removeDir, tempDir } from "./helpers.ts";
import { makePair, type Pair } from "./standin.ts";

const CASES = generateCases();
const WORKERS = 4;
/** A plugin that has not answered after this long is killed (a hang is an outcome, not a stuck suite). */
const KILL_AFTER_MS = 20_000;

interface Outcome {
  exit: number;
  json: Record<string, unknown> | undefined;
  stdout: string;
  /** Undefined when both namespaces are as before; else the first lines that differ. */
  changed?: string;
  /** Reservation files left in the data directory. */
  reserved: string[];
}

interface Worker {
  pair: Pair;
  fx: Fixture;
  baseline: string;
}

const outcomes = new Map<string, Outcome>();
const workers: Worker[] = [];
let root = "";

async function newWorker(i: number): Promise<Worker> {
  const dir = `${root}/w${i}-${workers.length}-${Date.now() % 100000}`;
  mkdirSync(`${dir}/data`, { recursive: true });
  const pair = await makePair("tbi", dir);
  const fx: Fixture = { netns: pair.containerPath, dataDir: `${dir}/data`, dir, cniBin: CNILAB_BIN };
  return { pair, fx, baseline: await pair.snapshot() };
}

/** Reservation files under a data directory (every network; not `lock`, not `last_reserved_ip.*`). */
function reservedIn(dataDir: string): string[] {
  const out: string[] = [];
  if (!existsSync(dataDir)) return out;
  for (const network of readdirSync(dataDir)) {
    const d = `${dataDir}/${network}`;
    if (!statSync(d).isDirectory()) continue;
    for (const f of readdirSync(d)) {
      if (f !== "lock" && !f.startsWith("last_reserved_ip.")) out.push(`${network}/${f}`);
    }
  }
  return out;
}

function firstDifference(a: string, b: string): string {
  const x = a.split("\n");
  const y = b.split("\n");
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if (x[i] !== y[i]) return `before: ${x[i]?.slice(0, 300)}\nafter:  ${y[i]?.slice(0, 300)}`;
  }
  return "";
}

/** Runs one plugin invocation with exactly this environment and stdin (killed after KILL_AFTER_MS). */
async function invoke(exe: string, env: Record<string, string | undefined>, stdin: string) {
  const clean: Record<string, string> = { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin" };
  for (const [k, v] of Object.entries(env)) if (v !== undefined) clean[k] = v;
  const proc = Bun.spawn([exe], {
    env: clean,
    stdin: new TextEncoder().encode(stdin),
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), KILL_AFTER_MS);
  const [stdout] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  const exit = await proc.exited;
  clearTimeout(timer);
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(stdout);
  } catch {
    json = undefined;
  }
  return { exit, json, stdout };
}

async function runCase(w: Worker, c: Case): Promise<Outcome> {
  c.prepare?.(w.fx);
  const config = c.config(w.fx);
  const env = { ...baseEnv(c.plugin, c.command, w.fx), ...c.env?.(w.fx) };
  const stdin = typeof config === "string" ? config : JSON.stringify(config);
  const r = await invoke(w.pair.inHost(cnilab(c.plugin)), env, stdin);
  const after = await w.pair.snapshot();
  return {
    ...r,
    changed: after === w.baseline ? undefined : firstDifference(w.baseline, after),
    reserved: reservedIn(w.fx.dataDir),
  };
}

beforeAll(async () => {
  await ensurePlugins();
  root = tempDir("tbi");
  for (let i = 0; i < WORKERS; i++) workers.push(await newWorker(i));
  let next = 0;
  await Promise.all(workers.map(async (_, slot) => {
    while (next < CASES.length) {
      const c = CASES[next++];
      let w = workers[slot];
      const outcome = await runCase(w, c);
      outcomes.set(c.name, outcome);
      if (outcome.changed !== undefined || outcome.reserved.length > 0) {
        // this case damaged its pair: the next case gets a fresh one
        await w.pair.destroy();
        w = await newWorker(slot);
        workers[slot] = w;
      }
    }
  }));
}, 600_000);

afterAll(async () => {
  for (const w of workers) await w.pair.destroy();
  if (root) removeDir(root);
});

test(`the generator makes at least 300 cases across the three plugins (${CASES.length})`, () => {
  expect(CASES.length).toBeGreaterThanOrEqual(300);
  const per = (p: PluginName) => CASES.filter((c) => c.plugin === p).length;
  expect(per("bridge")).toBeGreaterThan(50);
  expect(per("host-local")).toBeGreaterThan(50);
  expect(per("loopback")).toBeGreaterThan(50);
});

test("the base configs the cases start from are valid: ADD, CHECK and DEL succeed", async () => {
  // on a pair of its own: a successful bridge ADD leaves the bridge and ip_forward=1 behind by design
  const dir = `${root}/control`;
  mkdirSync(`${dir}/data`, { recursive: true });
  const pair = await makePair("tbi", dir);
  try {
    const fx: Fixture = { netns: pair.containerPath, dataDir: `${dir}/data`, dir, cniBin: CNILAB_BIN };
    for (const plugin of ["loopback", "host-local", "bridge"] as const) {
      const add = await invoke(
        pair.inHost(cnilab(plugin)),
        baseEnv(plugin, "ADD", fx),
        JSON.stringify(baseConfig(plugin, fx)),
      );
      expect([plugin, add.exit, add.stdout.slice(0, 200)]).toEqual([plugin, 0, add.stdout.slice(0, 200)]);
      const withPrev = JSON.stringify({ ...baseConfig(plugin, fx), prevResult: add.json });
      for (const command of ["CHECK", "DEL"]) {
        const r = await invoke(pair.inHost(cnilab(plugin)), baseEnv(plugin, command, fx), withPrev);
        expect([plugin, command, r.exit, r.stdout]).toEqual([plugin, command, 0, ""]);
      }
    }
    expect(reservedIn(fx.dataDir)).toEqual([]);
  } finally {
    await pair.destroy();
  }
}, 60_000);

describe("bad input", () => {
  for (const c of CASES) {
    test(c.name, () => {
      const o = outcomes.get(c.name);
      expect(o).toBeDefined();
      const seen = {
        exit: o!.exit,
        code: o!.json?.code,
        msg: String(o!.json?.msg ?? o!.stdout.slice(0, 300)),
      };
      expect({ exit: seen.exit, code: seen.code }).toEqual({ exit: 1, code: c.code });
      if (typeof c.msg === "string") expect(seen.msg).toContain(c.msg);
      else expect(seen.msg).toMatch(c.msg);
      expect(o!.changed).toBeUndefined();
      expect(o!.reserved).toEqual([]);
    });
  }
});
