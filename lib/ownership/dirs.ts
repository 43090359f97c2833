/**
 * Shared directories: /etc/netns, /var/lib/cni, /var/lib/cni/results… are used by many cnilab owners at
 * once (two pods, a kept lab and a test). A ledger per directory cnilab created says so and lists the owners
 * using it; the last owner released removes it, and only when it is empty, so a directory that was there
 * before cnilab, or that now holds someone else's files, always stays. Like the sysctl ledger (sysctl.ts),
 * but under a lock: creating a directory and recording its users is one step, so an owner leaving at that
 * moment never removes a directory another owner is about to fill.
 * @module
 */
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { withLockedFile } from "../sys/filelock.ts";
import { DIRS_DIR, isDir, OWNERS_DIR } from "./_state.ts";

/** An owner as the directory ledger sees it (an `Owner`). */
export interface DirOwner {
  readonly id: string;
  record(obj: { kind: "dir"; path: string }): Promise<void>;
}

interface DirLedger {
  path: string;
  users: string[];
}

function ledgerFile(path: string): string {
  return `${DIRS_DIR}/${encodeURIComponent(path)}.json`;
}

function readLedger(path: string): DirLedger | undefined {
  try {
    return JSON.parse(readFileSync(ledgerFile(path), "utf8")) as DirLedger;
  } catch {
    return undefined;
  }
}

function writeLedger(ledger: DirLedger): void {
  mkdirSync(DIRS_DIR, { recursive: true, mode: 0o700 });
  writeFileSync(ledgerFile(ledger.path), JSON.stringify(ledger), { mode: 0o600 });
}

/** The owners using a directory cnilab created; empty when cnilab did not create it. */
export function dirUsers(path: string): string[] {
  return readLedger(path)?.users ?? [];
}

/** Every directory in the ledger. */
function ledgerDirs(): string[] {
  if (!existsSync(DIRS_DIR)) return [];
  return readdirSync(DIRS_DIR).filter((f) => f.endsWith(".json")).map((f) =>
    decodeURIComponent(f.slice(0, -5))
  );
}

/** Runs `fn` holding the ledger's lock: a flock on the owners' directory, which exists while any owner does. */
function withDirLock<T>(fn: () => Promise<T>): Promise<T> {
  mkdirSync(OWNERS_DIR, { recursive: true, mode: 0o700 });
  return withLockedFile(OWNERS_DIR, fn, { what: "the lock of cnilab's directory ledger" });
}

/** `/a/b/c` → `["/a", "/a/b", "/a/b/c"]`. */
function lineage(path: string): string[] {
  const parts = path.split("/").filter(Boolean);
  return parts.map((_, i) => `/${parts.slice(0, i + 1).join("/")}`);
}

/**
 * Makes sure a directory exists for an owner: each missing component is created and entered in the ledger,
 * and the owner joins every component cnilab created earlier (for another owner), so whichever leaves last
 * removes it. Components that were there before cnilab are never recorded.
 */
export function useDir(owner: DirOwner, path: string, mode = 0o755): Promise<void> {
  return withDirLock(async () => {
    for (const dir of lineage(path)) {
      const ledger = readLedger(dir);
      if (existsSync(dir)) {
        if (!ledger || ledger.users.includes(owner.id)) continue;
        await owner.record({ kind: "dir", path: dir });
        writeLedger({ path: dir, users: [...ledger.users, owner.id] });
        continue;
      }
      // recorded first, so a kill -9 in between leaves a journal entry, never an unknown directory
      await owner.record({ kind: "dir", path: dir });
      writeLedger({ path: dir, users: [owner.id] });
      mkdirSync(dir, { mode });
    }
  });
}

/** Leaves a directory; the last user removes it when it is empty. True when it was removed. */
export function releaseDir(ownerId: string, path: string): Promise<boolean> {
  return withDirLock(() => Promise.resolve(leave(ownerId, path)));
}

function leave(ownerId: string, path: string): boolean {
  const ledger = readLedger(path);
  if (!ledger) return false;
  const users = ledger.users.filter((u) => u !== ownerId);
  if (users.length > 0) {
    writeLedger({ path, users });
    return false;
  }
  return forgetDir(path);
}

/** Drops a directory's ledger and removes the directory when it is empty; true when it was removed. */
function forgetDir(path: string): boolean {
  try {
    unlinkSync(ledgerFile(path));
  } catch {
    // already gone
  }
  if (!isDir(path) || readdirSync(path).length > 0) return false;
  rmdirSync(path);
  return true;
}

/**
 * For `cnilab clean`: the directories none of the `live` owners uses are forgotten (and removed when
 * empty), deepest first. Returns the ones removed.
 */
export function sweepDirs(live: ReadonlySet<string>): Promise<string[]> {
  return withDirLock(() => {
    const removed: string[] = [];
    for (const dir of ledgerDirs().sort((a, b) => b.length - a.length)) {
      if (dirUsers(dir).some((u) => live.has(u))) continue;
      if (forgetDir(dir)) removed.push(dir);
    }
    return Promise.resolve(removed);
  });
}
