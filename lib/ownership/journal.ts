/**
 * The journal: an {@link Owner} records everything it creates in `/run/cnilab/owners/<id>.jsonl` *before*
 * creating it, and marks it where the kernel lets it (link alias, CNILAB_OWNER). Releasing replays the
 * journal newest-first and removes only what is still there and still carries the mark.
 * @module
 */
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmdirSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import process from "node:process";
import { link, netns } from "../iproute2/mod.ts";
import { run } from "../shell/mod.ts";
import { LockedFileGone, withLockedFile } from "../sys/filelock.ts";
import { randomHex } from "../util/mod.ts";
import { isDir, MARK_PREFIX, OWNERS_DIR, tidyStateDir } from "./_state.ts";
import { markedProcesses, processAlive, processStart, stopProcess } from "./processes.ts";
import { ledgerPath, ledgerUsers, releaseSysctl } from "./sysctl.ts";
import { dirUsers, releaseDir, useDir } from "./dirs.ts";
import { runTeardown } from "./teardowns.ts";

/** Who owns a set of objects: a lab run, a pod, a test, an exercise, a benchmark or a trace's captures. */
export type OwnerKind = "lab" | "pod" | "test" | "exercise" | "bench" | "trace";

/** Something cnilab creates, as recorded in a journal. */
export type Owned =
  | { kind: "netns"; name: string }
  | { kind: "link"; name: string; netns?: string }
  | { kind: "process"; pid: number; start: number }
  | { kind: "path"; path: string; tree?: boolean }
  /** A directory cnilab created that other owners may share (dirs.ts): the last one out removes it. */
  | { kind: "dir"; path: string }
  | { kind: "mount"; path: string }
  | { kind: "sysctl"; key: string; value: string }
  | { kind: "undo"; what: string; argv: string[]; env?: Record<string, string>; stdin?: string }
  /** A typed undo: the teardown registered under `name` (teardowns.ts), called with `data`. */
  | { kind: "teardown"; name: string; what: string; data: unknown };

/** A journal's first line. */
export interface OwnerInfo {
  id: string;
  kind: OwnerKind;
  label: string;
  /** The process that created the owner, and its start time (to tell a dead run from a live one). */
  pid: number;
  pidStart: number;
  createdAt: string;
  kept: boolean;
}

type JournalLine =
  | { type: "owner"; info: Omit<OwnerInfo, "kept"> }
  | { type: "object"; obj: Owned }
  | { type: "forget"; obj: Owned }
  | { type: "kept"; kept: boolean };

/** Names a recorded object for people: "netns cni-1234…", "link veth0a1b2c3d". */
export function describe(obj: Owned): string {
  switch (obj.kind) {
    case "netns":
      return `netns ${obj.name}`;
    case "link":
      return `link ${obj.name}${obj.netns ? ` (in ${obj.netns})` : ""}`;
    case "process":
      return `process ${obj.pid}`;
    case "path":
      return `file ${obj.path}`;
    case "dir":
      return `directory ${obj.path}`;
    case "mount":
      return `mount ${obj.path}`;
    case "sysctl":
      return `sysctl ${obj.key}`;
    case "undo":
    case "teardown":
      return obj.what;
  }
}

/** How long ago an ISO time was, for people: "12 s", "4 min", "3 h", "2 d". */
export function ago(iso: string, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.floor(s / 60)} min`;
  if (s < 172800) return `${Math.floor(s / 3600)} h`;
  return `${Math.floor(s / 86400)} d`;
}

/**
 * The run whose journal holds an object named like `what` ("link cnilab25", "network namespace x",
 * "file /p"), read straight from the journals; undefined when no cnilab run recorded it.
 */
export function recordedBy(what: string): OwnerInfo | undefined {
  if (!existsSync(OWNERS_DIR)) return undefined;
  const m = /^(link|network namespace|file) (\S+)/.exec(what);
  if (!m) return undefined;
  const matches = (o: Owned) =>
    (m[1] === "link" && o.kind === "link" && o.name === m[2] && !o.netns) ||
    (m[1] === "network namespace" && o.kind === "netns" && o.name === m[2]) ||
    (m[1] === "file" && o.kind === "path" && o.path === m[2]);
  for (const f of readdirSync(OWNERS_DIR).filter((f) => f.endsWith(".jsonl"))) {
    const lines = readJournal(`${OWNERS_DIR}/${f}`);
    const head = lines[0];
    if (!head || head.type !== "owner") continue;
    let count = 0;
    for (const l of lines) {
      if (l.type === "object" && matches(l.obj)) count++;
      if (l.type === "forget" && matches(l.obj)) count--;
    }
    if (count <= 0) continue;
    const kept = lines.reduce((k, l) => (l.type === "kept" ? l.kept : k), false);
    return { ...head.info, kept };
  }
  return undefined;
}

/**
 * A name is in use. When another cnilab run recorded it (a lab kept with --keep), the message names that
 * run and the command that removes it; otherwise it is something cnilab did not make.
 */
export class CollisionError extends Error {
  /** The cnilab run that holds the object, when it is one. */
  readonly holder?: OwnerInfo;
  constructor(what: string) {
    const holder = recordedBy(what);
    const name = what.replace(/^(link|network namespace|file) /, "");
    const running = holder && !holder.kept && processAlive(holder.pid, holder.pidStart);
    super(
      !holder
        ? `${what} already exists and was not made by this cnilab run; remove or rename it, then try again`
        : running
        ? `${name} belongs to run ${holder.id} (${holder.kind} ${holder.label}, still running in process ${holder.pid}); wait for it or stop it`
        : `${name} belongs to ${
          holder.kept ? "kept " : ""
        }run ${holder.id} (${holder.kind} ${holder.label}, ${
          ago(holder.createdAt)
        } ago): cnilab down ${holder.id}`,
    );
    this.name = "CollisionError";
    this.holder = holder;
  }
}

/** The path as the kernel reports it in mountinfo (/var/run is a symlink to /run). */
function canonical(path: string): string {
  const slash = path.lastIndexOf("/");
  try {
    return `${realpathSync(path.slice(0, slash) || "/")}/${path.slice(slash + 1)}`.replace(/^\/\//, "/");
  } catch {
    return path;
  }
}

function mounted(path: string): boolean {
  const target = canonical(path);
  try {
    return readFileSync("/proc/self/mountinfo", "utf8").split("\n").some((l) => l.split(" ")[4] === target);
  } catch {
    return false;
  }
}

/** The owner of a set of cnilab objects, with its journal. */
export class Owner {
  /** `cnilab:<id>`: the alias of every link this owner creates. */
  readonly mark: string;
  /** Put into the environment of every long-lived process this owner starts. */
  readonly env: Record<string, string>;

  private constructor(readonly id: string, readonly info: OwnerInfo) {
    this.mark = `${MARK_PREFIX}${id}`;
    this.env = { CNILAB_OWNER: id };
  }

  /** The journal file of this owner. */
  get journal(): string {
    return `${OWNERS_DIR}/${this.id}.jsonl`;
  }

  /** Starts a new owner and writes its journal header. */
  static begin(kind: OwnerKind, label: string): Promise<Owner> {
    mkdirSync(OWNERS_DIR, { recursive: true, mode: 0o700 });
    const id = randomHex(4);
    const info: Omit<OwnerInfo, "kept"> = {
      id,
      kind,
      label,
      pid: process.pid,
      pidStart: processStart(process.pid) ?? 0,
      createdAt: new Date().toISOString(),
    };
    const owner = new Owner(id, { ...info, kept: false });
    const header = JSON.stringify({ type: "owner", info }) + "\n";
    try {
      writeFileSync(owner.journal, header, { flag: "wx", mode: 0o600 });
    } catch {
      // another cnilab process tidied the empty state dir between our mkdir and this write
      mkdirSync(OWNERS_DIR, { recursive: true, mode: 0o700 });
      writeFileSync(owner.journal, header, { flag: "wx", mode: 0o600 });
    }
    return Promise.resolve(owner);
  }

  /** Opens an existing owner's journal. */
  static open(id: string): Promise<Owner> {
    const lines = readJournal(`${OWNERS_DIR}/${id}.jsonl`);
    const head = lines[0];
    if (!head || head.type !== "owner") throw new Error(`no cnilab owner ${id} under ${OWNERS_DIR}`);
    const kept = lines.reduce((k, l) => (l.type === "kept" ? l.kept : k), false);
    return Promise.resolve(new Owner(id, { ...head.info, kept }));
  }

  /** The objects recorded and not forgotten, oldest first. */
  objects(): Owned[] {
    const out: Owned[] = [];
    for (const line of readJournal(this.journal)) {
      if (line.type === "object") out.push(line.obj);
      if (line.type === "forget") {
        const key = JSON.stringify(line.obj);
        const i = out.findLastIndex((o) => JSON.stringify(o) === key);
        if (i >= 0) out.splice(i, 1);
      }
    }
    return out;
  }

  /** Records an object; call it BEFORE creating the object, so a kill -9 right after still finds it. */
  record(obj: Owned): Promise<void> {
    appendFileSync(this.journal, JSON.stringify({ type: "object", obj }) + "\n");
    return Promise.resolve();
  }

  /** Takes back a record (the object was never created, or was handed over). */
  forget(obj: Owned): Promise<void> {
    appendFileSync(this.journal, JSON.stringify({ type: "forget", obj }) + "\n");
    return Promise.resolve();
  }

  /** Marks the owner as intentionally left standing (a running pod, a lab run with --keep). */
  keep(kept = true): Promise<void> {
    appendFileSync(this.journal, JSON.stringify({ type: "kept", kept }) + "\n");
    this.info.kept = kept;
    return Promise.resolve();
  }

  /** True while the process that created this owner still runs. */
  creatorAlive(): boolean {
    return processAlive(this.info.pid, this.info.pidStart);
  }

  /** Creates a named network namespace, refusing a name that is already taken. */
  async createNetns(name: string): Promise<void> {
    if (await netns.exists(name)) throw new CollisionError(`network namespace ${name}`);
    await this.record({ kind: "netns", name });
    await netns.add(name);
  }

  /**
   * Makes sure a directory exists, returns the path. Each missing component is created and shared through
   * the directory ledger (dirs.ts): this owner and any other that needs it later are its users, and the
   * last one released removes it when it is empty. A directory that was there before cnilab is left alone.
   */
  async mkdir(path: string, mode = 0o755): Promise<string> {
    await useDir(this, path, mode);
    return path;
  }

  /** Writes a new file (its directory is created and recorded when missing). */
  async writeFile(path: string, content: string, mode = 0o644): Promise<void> {
    await this.mkdir(path.slice(0, path.lastIndexOf("/")) || "/");
    if (existsSync(path)) throw new CollisionError(`file ${path}`);
    await this.record({ kind: "path", path });
    writeFileSync(path, content, { flag: "wx", mode });
  }

  /** Is the object still there (and still cnilab's)? */
  async exists(obj: Owned): Promise<boolean> {
    switch (obj.kind) {
      case "netns":
        return await netns.exists(obj.name);
      case "link": {
        if (obj.netns && !(await netns.exists(obj.netns))) return false;
        const l = await link.get(obj.name, { netns: obj.netns });
        return l !== undefined && l.alias === this.mark;
      }
      case "process":
        return processAlive(obj.pid, obj.start);
      case "path":
        // a directory cnilab made that now also holds others' files is no longer cnilab's alone
        return existsSync(obj.path) && (obj.tree || !isDir(obj.path) || readdirSync(obj.path).length === 0);
      case "mount":
        return mounted(obj.path) || existsSync(obj.path);
      case "dir":
        return dirUsers(obj.path).includes(this.id) && isDir(obj.path) && readdirSync(obj.path).length === 0;
      case "sysctl":
        return existsSync(ledgerPath(obj.key)) && ledgerUsers(obj.key).includes(this.id);
      case "undo":
      case "teardown":
        return false;
    }
  }

  /** What this owner created that is still there. */
  async leftovers(): Promise<string[]> {
    const left: string[] = [];
    for (const obj of this.objects()) if (await this.exists(obj)) left.push(describe(obj));
    for (const p of markedProcesses(this.id)) left.push(`process ${p.pid}`);
    return left;
  }

  /**
   * Removes everything recorded, newest first, then any process still carrying this owner's mark, then the
   * journal. Each removal is best-effort so one stubborn object never strands the others; what could not be
   * removed stays in the journal for the next `cnilab clean`. Returns what was removed. Holds the owner's
   * lock ({@link withOwnerLock}): two processes releasing one owner (`cnilab clean` and `pod rm`) take
   * turns, and the second finds nothing left.
   */
  async release(): Promise<string[]> {
    try {
      return await withOwnerLock(this.id, () => this.releaseLocked());
    } catch (error) {
      if (error instanceof LockedFileGone) return []; // released by another process meanwhile
      throw error;
    }
  }

  private async releaseLocked(): Promise<string[]> {
    const removed: string[] = [];
    const failed: Owned[] = [];
    // processes first: a holder keeps its namespace busy
    const objects = this.objects().reverse();
    const ordered = [
      ...objects.filter((o) => o.kind === "process"),
      ...objects.filter((o) => o.kind !== "process"),
    ];
    for (const p of markedProcesses(this.id)) {
      const start = processStart(p.pid);
      if (start !== undefined && await stopProcess(p.pid, start)) removed.push(`process ${p.pid}`);
    }
    for (const obj of ordered) {
      try {
        if (await this.remove(obj)) removed.push(describe(obj));
      } catch {
        failed.push(obj);
      }
    }
    if (failed.length === 0) {
      rmSync(this.journal, { force: true });
      tidyStateDir();
    } else {
      writeFileSync(
        this.journal,
        [{ type: "owner", info: this.info }, ...failed.reverse().map((obj) => ({ type: "object", obj }))]
          .map((l) => JSON.stringify(l)).join("\n") + "\n",
      );
    }
    return [...new Set(removed)];
  }

  private async remove(obj: Owned): Promise<boolean> {
    switch (obj.kind) {
      case "process":
        return await stopProcess(obj.pid, obj.start);
      case "undo":
        return (await run(obj.argv, { env: obj.env, stdin: obj.stdin, check: false })).code === 0;
      case "teardown":
        await runTeardown(obj.name, obj.data); // throws: kept in the journal
        return true;
      case "link": {
        if (!(await this.exists(obj))) return false;
        await link.del(obj.name, { netns: obj.netns });
        return true;
      }
      case "netns": {
        if (!(await netns.exists(obj.name))) return false;
        await netns.del(obj.name);
        return true;
      }
      case "mount": {
        let did = false;
        if (mounted(obj.path)) {
          await run(["umount", "-l", obj.path]);
          did = true;
        }
        if (existsSync(obj.path)) {
          rmSync(obj.path, { force: true });
          did = true;
        }
        return did;
      }
      case "path": {
        if (!existsSync(obj.path)) return false;
        if (obj.tree) rmSync(obj.path, { recursive: true, force: true });
        else if (isDir(obj.path)) {
          // never recursive: others may have put their own files in a directory cnilab created
          if (readdirSync(obj.path).length > 0) return false;
          rmdirSync(obj.path);
        } else unlinkSync(obj.path);
        return true;
      }
      case "dir":
        return await releaseDir(this.id, obj.path);
      case "sysctl":
        return releaseSysctl(this.id, obj.key);
    }
  }
}

/** The journal file of an owner. */
export function journalPath(ownerId: string): string {
  return `${OWNERS_DIR}/${ownerId}.jsonl`;
}

/**
 * Runs `fn` holding the lock of an owner: an flock on its journal, so it needs no file of its own and a
 * kill -9 never leaves it held. Re-entrant in the same async chain (a pod's removal releases its owner).
 * Throws LockedFileGone (lib/sys/filelock.ts) when the owner's journal is gone: released meanwhile.
 */
export function withOwnerLock<T>(ownerId: string, fn: () => Promise<T>): Promise<T> {
  return withLockedFile(journalPath(ownerId), fn, { what: `the lock of cnilab owner ${ownerId}` });
}

function readJournal(path: string): JournalLine[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return [];
  }
  const lines: JournalLine[] = [];
  for (const raw of text.split("\n")) {
    if (!raw.trim()) continue;
    try {
      lines.push(JSON.parse(raw) as JournalLine);
    } catch {
      // a line cut short by kill -9 in the middle of a write: the object it named was not created yet
    }
  }
  return lines;
}
