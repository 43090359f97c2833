/**
 * Processes under /proc: a process is named by its PID *and* its start time, so a reused PID is never
 * taken for the process cnilab started; a process carries its owner in CNILAB_OWNER.
 * @module
 */
import { readdirSync, readFileSync } from "node:fs";
import process from "node:process";

/** A process's start time (field 22 of /proc/PID/stat), or undefined when it is gone. */
export function processStart(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(fields[19]);
  } catch {
    return undefined;
  }
}

function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
  } catch {
    return undefined;
  }
}

/** True while the process with that PID and start time runs (a zombie counts as gone). */
export function processAlive(pid: number, start: number): boolean {
  const state = processState(pid);
  return state !== undefined && state !== "Z" && state !== "X" && processStart(pid) === start;
}

/** PIDs whose environment carries CNILAB_OWNER (optionally: this owner's id). */
export function markedProcesses(ownerId?: string): { pid: number; owner: string }[] {
  const found: { pid: number; owner: string }[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let environ: string;
    try {
      environ = readFileSync(`/proc/${entry}/environ`, "utf8");
    } catch {
      continue;
    }
    const m = /(?:^|\0)CNILAB_OWNER=([^\0]*)/.exec(environ);
    if (m && (ownerId === undefined || m[1] === ownerId)) found.push({ pid: Number(entry), owner: m[1] });
  }
  return found;
}

/** SIGTERM, wait up to `graceMs`, then SIGKILL; PID reuse is ruled out with the start time. */
export async function stopProcess(pid: number, start: number, graceMs = 2000): Promise<boolean> {
  if (!processAlive(pid, start)) return false;
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return false;
  }
  const deadline = performance.now() + graceMs;
  for (let d = 1; processAlive(pid, start) && performance.now() < deadline; d = Math.min(d * 2, 25)) {
    await sleep(d);
  }
  if (processAlive(pid, start)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // exited just now
    }
    for (let i = 0; i < 100 && processAlive(pid, start); i++) await sleep(10);
  }
  return true;
}

/** Waits. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
