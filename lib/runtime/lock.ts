/**
 * "Never two operations on one container at once" (CNI spec, runtime side), within one process and across
 * processes (two `cnilab` commands, a lab and `cnilab clean`).
 *
 * - In process: a promise queue per container ID.
 * - Across processes: `flock(2)` on `<lockDir>/<containerID>.lock`, called through lib/sys/flock.ts. The kernel
 *   drops a flock when its holder dies, so a `kill -9` never leaves a stale lock to detect or break (the
 *   weakness of O_EXCL lock files). The lock file is removed on release; a waiter that locked a file that
 *   was meanwhile unlinked notices (inode changed) and starts over, so two holders can never coexist.
 *   Directories a lock created (e.g. /run/cnilab/cni-locks) are removed again when empty.
 * @module
 */
import { closeSync, fstatSync, mkdirSync, openSync, rmdirSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { flock, LOCK_EX, LOCK_NB } from "../sys/flock.ts";

/**
 * Removes `lockDir` when empty (whoever created it: the last holder out turns off the light), and its parents
 * up to the topmost dir this call created, while they are empty.
 */
function removeEmptyDirs(lockDir: string, created: string[]): void {
  const top = created.length > 0 ? created.reduce((a, b) => (a.length <= b.length ? a : b)) : lockDir;
  for (let dir = lockDir; dir.length >= top.length; dir = dirname(dir)) {
    try {
      rmdirSync(dir);
    } catch {
      return; // not empty: someone else holds or waits for a lock in it
    }
    if (dir === top) return;
  }
}

const queues = new Map<string, Promise<unknown>>();

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Options of {@link withContainerLock}. */
export interface LockOptions {
  /** Give up waiting for another process after this long (ms). Default 10 minutes. */
  waitMs?: number;
}

async function acquire(file: string, waitMs: number, created: string[]): Promise<number> {
  const deadline = Date.now() + waitMs;
  let delay = 2;
  for (;;) {
    let fd: number;
    try {
      fd = openSync(file, "a+", 0o600);
    } catch (error) {
      // another process removed the (empty) lock dir between our mkdir and our open
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      const top = mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      if (top) created.push(top);
      continue;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) === 0) {
      // the previous holder may have unlinked the file between our open and our lock
      let same = false;
      try {
        same = statSync(file).ino === fstatSync(fd).ino;
      } catch {
        same = false;
      }
      if (same) return fd;
      closeSync(fd);
      continue;
    }
    closeSync(fd);
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${waitMs} ms waiting for the container lock ${file} (held by another process)`,
      );
    }
    await sleep(delay);
    delay = Math.min(delay * 2, 50);
  }
}

/**
 * Runs `fn` while holding the lock of `containerId`: no other operation on that container, in this process
 * or another using the same `lockDir`, runs meanwhile.
 */
export function withContainerLock<T>(
  lockDir: string,
  containerId: string,
  fn: () => Promise<T>,
  opts: LockOptions = {},
): Promise<T> {
  const key = `${lockDir}\0${containerId}`;
  const previous = queues.get(key) ?? Promise.resolve();
  const mine = previous.catch(() => {}).then(async () => {
    // dirs this call creates are removed again when empty: a lock leaves nothing on the host
    const created: string[] = [];
    const top = mkdirSync(lockDir, { recursive: true, mode: 0o700 });
    if (top) created.push(top);
    const file = join(lockDir, `${containerId}.lock`);
    const fd = await acquire(file, opts.waitMs ?? 600_000, created);
    try {
      return await fn();
    } finally {
      rmSync(file, { force: true });
      closeSync(fd);
      removeEmptyDirs(lockDir, created);
    }
  });
  const tail = mine.catch(() => {});
  queues.set(key, tail);
  tail.then(() => {
    if (queues.get(key) === tail) queues.delete(key);
  });
  return mine;
}
