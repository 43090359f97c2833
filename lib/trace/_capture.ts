/**
 * Captures: one Debian tcpdump per interface of the path, run inside that interface's namespace
 * (`nsenter --net=/var/run/netns/NS tcpdump -i IF`), writing pcap with nanosecond timestamps to its stdout
 * (`-w - -U --immediate-mode`), so no capture file is ever written. `-p` keeps the interface out of
 * promiscuous mode: watching must not change what the bridge does (a promiscuous bridge device would
 * receive every frame it forwards).
 *
 * A capture is a long-running process whose output streams, the one thing lib/shell's `run` (which waits
 * for the command to finish) does not do, so it is spawned here with node:child_process. Each carries the
 * trace owner's CNILAB_OWNER mark and is recorded in its journal, so `cnilab clean` stops it even if the
 * trace is killed with SIGKILL; normally {@link stopCaptures} stops them all, on every path out.
 *
 * tcpdump is ready when it prints "listening on" (after pcap_activate and the BPF filter are in place).
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import process from "node:process";
import { type Owner, processStart } from "../ownership/mod.ts";
import { type Frame, parsePcap } from "./_packet.ts";

/** A running capture. */
export interface Capture {
  ns: string;
  ifname: string;
  child: ChildProcess;
  chunks: Uint8Array[];
  stderr: string;
  /** Resolves when tcpdump is capturing (or rejects with what it said). */
  ready: Promise<void>;
  exited: Promise<void>;
  /** ms from spawn to "listening on". */
  startMs?: number;
}

/** The argv of one capture. */
export function captureArgv(ns: string, ifname: string, filter: string): string[] {
  const tcpdump = [
    "tcpdump",
    "-i",
    ifname,
    "-p",
    "-n",
    "-U",
    "--immediate-mode",
    "--time-stamp-precision=nano",
    "-s",
    "512",
    "-w",
    "-",
    filter,
  ];
  return ns === "host" ? tcpdump : ["nsenter", `--net=/var/run/netns/${ns}`, "--", ...tcpdump];
}

/** Starts a capture; wait for {@link Capture.ready} before sending anything. */
export async function startCapture(
  owner: Owner,
  ns: string,
  ifname: string,
  filter: string,
): Promise<Capture> {
  const argv = captureArgv(ns, ifname, filter);
  const started = performance.now();
  const child = spawn(argv[0], argv.slice(1), {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...owner.env },
  });
  const cap: Capture = {
    ns,
    ifname,
    child,
    chunks: [],
    stderr: "",
    ready: Promise.resolve(),
    exited: Promise.resolve(),
  };
  cap.exited = new Promise((resolve) => child.once("close", () => resolve()));
  cap.ready = new Promise((resolve, reject) => {
    child.stdout!.on("data", (d: Uint8Array) => cap.chunks.push(d));
    child.stderr!.on("data", (d: Uint8Array) => {
      cap.stderr += new TextDecoder().decode(d);
      if (cap.startMs === undefined && cap.stderr.includes("listening on")) {
        cap.startMs = performance.now() - started;
        resolve();
      }
    });
    child.once("error", (e) => reject(new Error(`tcpdump could not start: ${e.message}`)));
    child.once("close", (code) => {
      if (cap.startMs === undefined) {
        const said = cap.stderr.trim().split("\n").pop() ?? "";
        reject(new Error(`tcpdump on ${ns}/${ifname} exited ${code}${said ? `: ${said}` : ""}`));
      }
    });
  });
  if (child.pid !== undefined) {
    await owner.record({ kind: "process", pid: child.pid, start: processStart(child.pid) ?? 0 });
  }
  return cap;
}

/** Stops every capture (SIGINT: tcpdump flushes and exits), SIGKILL after a grace period. */
export async function stopCaptures(caps: Capture[], graceMs = 1000): Promise<void> {
  for (const c of caps) {
    if (c.child.exitCode === null && c.child.signalCode === null) {
      try {
        c.child.kill("SIGINT");
      } catch {
        // already gone
      }
    }
  }
  const all = Promise.all(caps.map((c) => c.exited));
  let timeout: ReturnType<typeof setTimeout> | undefined;
  const timer = new Promise<"late">((r) => (timeout = setTimeout(() => r("late"), graceMs)));
  const late = (await Promise.race([all, timer])) === "late";
  clearTimeout(timeout);
  if (late) {
    for (const c of caps) {
      try {
        c.child.kill("SIGKILL");
      } catch {
        // gone
      }
    }
    await all;
  }
}

/** The frames a stopped capture saw. */
export function framesOf(c: Capture): Frame[] {
  const total = c.chunks.reduce((n, d) => n + d.length, 0);
  const all = new Uint8Array(total);
  let at = 0;
  for (const d of c.chunks) {
    all.set(d, at);
    at += d.length;
  }
  return parsePcap(all);
}
