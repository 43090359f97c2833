/**
 * The pause holder: the one process of a sandbox whose only job is to own the pod's namespaces, so that
 * containers can come and go while the pod keeps its network, IPC and hostname.
 *
 * It is catatonit in pause mode (`catatonit -P`: sleeps, reaps zombies, exits 0 on SIGTERM/SIGINT — the
 * behaviour of Kubernetes' pause.c) exec'd through a symlink named `pause`, so `ps` shows `pause`:
 *
 *     nsenter --net=/var/run/netns/cni-…  unshare --ipc --uts [--pid --fork --mount-proc]  <dir>/pause -P
 *
 * `nsenter` joins the pinned network namespace, `unshare` makes new IPC and UTS namespaces (and, for
 * `shareProcessNamespace`, a PID namespace in which pause is PID 1 and so reaps every orphan of the pod),
 * then both exec, so without a PID namespace the holder is ONE process of ~700 KiB. With a PID namespace,
 * unshare must fork (a new PID namespace applies to children only) and stays as pause's parent;
 * `--kill-child` makes pause die with it.
 * @module
 */
import { readFileSync, symlinkSync } from "node:fs";
import { type Owner, processAlive, processStart, sleep, stopProcess } from "../ownership/mod.ts";
import { run, spawnDetached } from "../shell/mod.ts";
import { ensureSharedNetnsDir } from "./netns.ts";

/** The pause binary behind the `pause` symlink. */
export const CATATONIT = "/usr/bin/catatonit";

/** A running holder. */
export interface Holder {
  /** The pause process: the target of `nsenter -t` for every container. */
  pid: number;
  start: number;
  /** With a PID namespace: the `unshare --fork` parent of pause (in the host PID namespace). */
  launcher?: { pid: number; start: number };
}

/** How to start a holder. */
export interface HolderOptions {
  /** The pinned network namespace to join. */
  netnsPath: string;
  /** The sandbox's directory: the `pause` symlink and `holder.log` go there. */
  dir: string;
  /** Hostname set in the pod's new UTS namespace. */
  hostname: string;
  /** A PID namespace for the pod (Kubernetes `shareProcessNamespace`). */
  sharePid: boolean;
}

function comm(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return undefined;
  }
}

function children(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").split(" ").filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 5000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (let delay = 1;; delay = Math.min(delay * 2, 20)) {
    const value = probe();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(delay);
  }
}

/** The argv that starts a holder (shown in transcripts and docs). */
export function holderArgv(opts: HolderOptions): string[] {
  return [
    "nsenter",
    `--net=${opts.netnsPath}`,
    "unshare",
    "--ipc",
    "--uts",
    ...(opts.sharePid
      ? ["--pid", "--fork", "--kill-child=SIGTERM", "--mount-proc", "--propagation=slave"]
      : []),
    `${opts.dir}/pause`,
    "-P",
  ];
}

/**
 * Starts the holder detached (own session, stdio to `holder.log`, CNILAB_OWNER in its environment), records
 * it with the owner, waits until pause runs in its namespaces, and sets the pod's hostname.
 */
export async function startHolder(owner: Owner, opts: HolderOptions): Promise<Holder> {
  symlinkSync(CATATONIT, `${opts.dir}/pause`);
  if (opts.sharePid) await ensureSharedNetnsDir();
  const first = await spawnDetached(holderArgv(opts), { env: owner.env, log: `${opts.dir}/holder.log` });
  const firstStart = processStart(first);
  if (firstStart !== undefined) await owner.record({ kind: "process", pid: first, start: firstStart });
  let holder: Holder;
  if (!opts.sharePid) {
    // nsenter execs unshare execs pause: same PID; ready once it is pause
    await waitFor("the pause holder to start", () => {
      const c = comm(first);
      if (c === undefined) throw new Error(`the pause holder exited at once; see ${opts.dir}/holder.log`);
      return c === "pause" ? true : undefined;
    });
    holder = { pid: first, start: processStart(first) ?? firstStart ?? 0 };
  } else {
    const pausePid = await waitFor("the pause holder to start", () => {
      if (comm(first) === undefined) {
        throw new Error(`the pause holder exited at once; see ${opts.dir}/holder.log`);
      }
      return children(first).find((c) => comm(c) === "pause");
    });
    const start = processStart(pausePid) ?? 0;
    // recorded after its parent, so release (newest first) stops pause first and unshare then exits by itself
    await owner.record({ kind: "process", pid: pausePid, start });
    holder = { pid: pausePid, start, launcher: { pid: first, start: firstStart ?? 0 } };
  }
  await run(["nsenter", `--target=${holder.pid}`, "--uts", "hostname", opts.hostname]);
  return holder;
}

/** True while the holder's pause process runs. */
export function holderAlive(h: Holder): boolean {
  return processAlive(h.pid, h.start);
}

/** Stops the holder: SIGTERM (pause exits 0), SIGKILL after `graceMs`. Returns false when it was already gone. */
export async function stopHolder(h: Holder, graceMs = 2000): Promise<boolean> {
  const targets = [{ pid: h.pid, start: h.start }, ...(h.launcher ? [h.launcher] : [])];
  let was = false;
  for (const t of targets) was = (await stopProcess(t.pid, t.start, graceMs)) || was;
  return was;
}

/** Resident memory of a process in KiB (VmRSS), or undefined when it is gone. */
export function rssKiB(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** The holder's total resident memory (pause plus, with a PID namespace, its unshare parent). */
export function holderRssKiB(h: Holder): number {
  return (rssKiB(h.pid) ?? 0) + (h.launcher ? rssKiB(h.launcher.pid) ?? 0 : 0);
}
