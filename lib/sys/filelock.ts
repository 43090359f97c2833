/**
 * An exclusive lock on an existing file, across processes (flock(2) through ./flock.ts) and re-entrant
 * within one chain of async calls (AsyncLocalStorage): a function holding the lock can call another that
 * takes it.
 *
 * The file locked is the object itself (e.g. an ownership journal), never a lock file made for the
 * purpose, so a lock leaves nothing behind; it is never created: when it does not exist, or was removed
 * by the previous holder while we waited (the inode changed), {@link LockedFileGone} says so. The kernel
 * drops a flock when its holder dies, so a `kill -9` never leaves a stale lock.
 * @module
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { closeSync, fstatSync, openSync, statSync } from "node:fs";
import { flock, LOCK_EX, LOCK_NB } from "./flock.ts";

/** The file to lock does not exist (any more). */
export class LockedFileGone extends Error {
  constructor(readonly path: string) {
    super(`${path} is gone`);
    this.name = "LockedFileGone";
  }
}

/** The files this async chain holds locked. */
const held = new AsyncLocalStorage<ReadonlySet<string>>();

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function open(path: string): number {
  try {
    return openSync(path, "r");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") throw new LockedFileGone(path);
    throw error;
  }
}

async function acquire(path: string, waitMs: number, what: string): Promise<number> {
  const deadline = Date.now() + waitMs;
  let delay = 2;
  for (;;) {
    const fd = open(path);
    if (flock(fd, LOCK_EX | LOCK_NB) === 0) {
      let same = false;
      try {
        same = statSync(path).ino === fstatSync(fd).ino;
      } catch {
        same = false;
      }
      if (same) return fd;
      closeSync(fd); // removed (or replaced) by the previous holder: look again
      continue;
    }
    closeSync(fd);
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${waitMs} ms waiting for ${what} (held by another cnilab process)`);
    }
    await sleep(delay);
    delay = Math.min(delay * 2, 50);
  }
}

/**
 * Runs `fn` holding the lock of the existing file `path`: no other holder of it, in this process or
 * another, runs meanwhile. Called again from inside `fn` (same async chain), it runs the inner function
 * at once. Throws {@link LockedFileGone} when the file is not there.
 */
export async function withLockedFile<T>(
  path: string,
  fn: () => Promise<T>,
  opts: { waitMs?: number; what?: string } = {},
): Promise<T> {
  const mine = held.getStore();
  if (mine?.has(path)) return await fn();
  const fd = await acquire(path, opts.waitMs ?? 600_000, opts.what ?? `the lock on ${path}`);
  try {
    return await held.run(new Set([...(mine ?? []), path]), fn);
  } finally {
    closeSync(fd);
  }
}
