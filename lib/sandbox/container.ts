/**
 * Containers: a process joined to the holder's namespaces (what a CRI runtime asks runc to do with the
 * sandbox's namespace paths), with its own log file:
 *
 *     env -i PATH=… HOSTNAME=… CNILAB_OWNER=…  nsenter --target=<pause pid> --net --ipc --uts [--pid --mount]  <argv>
 *
 * There is no root filesystem, cgroup or user namespace: the point is the namespaces a pod shares. Without
 * a PID namespace `env` and `nsenter` exec in place, so the container is one process; with one, nsenter
 * forks (a joined PID namespace applies to children) and waits for it.
 * @module
 */
import { readFileSync, readlinkSync } from "node:fs";
import { type Owner, processAlive, processStart, sleep, stopProcess } from "../ownership/mod.ts";
import { spawnDetached } from "../shell/mod.ts";
import type { Holder } from "./holder.ts";

/** The environment every container starts with (as a container image's would). */
export const BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** A running container process. */
export interface ContainerProcess {
  /** The container's own process (the program of the image). */
  pid: number;
  start: number;
  /** With a PID namespace: the nsenter parent that waits for it. */
  nsenter?: { pid: number; start: number };
}

/** What to start. */
export interface ContainerLaunch {
  argv: string[];
  env: Record<string, string>;
  workingDir?: string;
  logPath: string;
  sharePid: boolean;
}

/**
 * The argv that runs a program in the namespaces of process `target` (the holder, or a running container):
 * a clean environment, then nsenter into its net, IPC and UTS namespaces (and PID + mount when shared).
 */
export function joinArgv(
  target: number,
  opts: { env: Record<string, string>; sharePid: boolean; workingDir?: string },
  argv: string[],
): string[] {
  return [
    "env",
    "-i",
    ...Object.entries(opts.env).map(([k, v]) => `${k}=${v}`),
    "nsenter",
    `--target=${target}`,
    "--net",
    "--ipc",
    "--uts",
    ...(opts.sharePid ? ["--pid", "--mount"] : []),
    ...(opts.workingDir ? [`--wd=${opts.workingDir}`] : []),
    "--",
    ...argv,
  ];
}

/** The argv that starts a container in the holder's namespaces. */
export function containerArgv(holder: Holder, owner: Owner, launch: ContainerLaunch): string[] {
  const env = { PATH: BASE_PATH, HOME: "/root", ...launch.env, ...owner.env };
  return joinArgv(holder.pid, { env, sharePid: launch.sharePid, workingDir: launch.workingDir }, launch.argv);
}

function firstChild(pid: number): number | undefined {
  try {
    const c = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").split(" ").filter(Boolean);
    return c.length ? Number(c[0]) : undefined;
  } catch {
    return undefined;
  }
}

/** Starts a container process detached, records it with the owner and returns it. */
export async function startContainerProcess(
  owner: Owner,
  holder: Holder,
  launch: ContainerLaunch,
): Promise<ContainerProcess> {
  const pid = await spawnDetached(containerArgv(holder, owner, launch), {
    env: owner.env,
    log: launch.logPath,
  });
  const start = processStart(pid) ?? 0;
  await owner.record({ kind: "process", pid, start });
  if (!launch.sharePid) {
    // StartContainer returns once the process is in the pod: env and nsenter exec in place, then setns
    await waitJoined(pid, start, holder.pid);
    return { pid, start };
  }
  // nsenter forks the program into the PID namespace; find that child
  let child: number | undefined;
  for (let d = 1, waited = 0; waited < 3000; waited += d, d = Math.min(d * 2, 20)) {
    child = firstChild(pid);
    if (child !== undefined || !processAlive(pid, start)) break;
    await sleep(d);
  }
  if (child === undefined) return { pid, start };
  const childStart = processStart(child) ?? 0;
  await owner.record({ kind: "process", pid: child, start: childStart });
  return { pid: child, start: childStart, nsenter: { pid, start } };
}

function netnsOf(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/net`);
  } catch {
    return undefined;
  }
}

/** Waits until the process has joined the holder's network namespace (or has exited, or 3 s passed). */
async function waitJoined(pid: number, start: number, holderPid: number): Promise<void> {
  const target = netnsOf(holderPid);
  for (let d = 1, waited = 0; waited < 3000; waited += d, d = Math.min(d * 2, 20)) {
    if (netnsOf(pid) === target || !processAlive(pid, start)) return;
    await sleep(d);
  }
}

/** True while the container's process runs. */
export function containerAlive(p: ContainerProcess): boolean {
  return processAlive(p.pid, p.start);
}

/** Stops a container: SIGTERM, SIGKILL after `graceMs`. Returns false when it had already exited. */
export async function stopContainerProcess(p: ContainerProcess, graceMs = 2000): Promise<boolean> {
  const was = await stopProcess(p.pid, p.start, graceMs);
  if (p.nsenter) await stopProcess(p.nsenter.pid, p.nsenter.start, graceMs);
  return was;
}
