/**
 * Ownership: everything cnilab creates is recorded in a journal under /run/cnilab before it is created,
 * and marked where the kernel lets us (link alias `cnilab:<owner>`, `CNILAB_OWNER` in a process's
 * environment). Teardown, `cnilab clean` and stale-run recovery replay the journal newest-first and remove
 * only objects that are still there *and* still carry cnilab's mark, so a look-alike made by someone else
 * survives. The journal lives on /run (tmpfs): it is gone after a reboot, exactly like namespaces,
 * links and processes.
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
  statSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import process from "node:process";
import { link, netns } from "../iproute2/mod.ts";
import { run } from "../shell/mod.ts";
import { readSysctl, sysctlPath } from "../sys/sysctl.ts";
import { LockedFileGone, withLockedFile } from "../sys/filelock.ts";

/** Where cnilab keeps its state; overridable for tests with CNILAB_STATE_DIR. */
export const STATE_DIR = process.env.CNILAB_STATE_DIR ?? "/run/cnilab";
const OWNERS_DIR = `${STATE_DIR}/owners`;
const SYSCTL_DIR = `${STATE_DIR}/sysctl`;

/** The prefix of every mark cnilab puts on what it creates. */
export const MARK_PREFIX = "cnilab:";

/** Who owns a set of objects: a lab run, a pod, a test, an exercise, a benchmark or a trace's captures. */
export type OwnerKind = "lab" | "pod" | "test" | "exercise" | "bench" | "trace";

/** Something cnilab creates, as recorded in a journal. */
export type Owned =
  | { kind: "netns"; name: string }
  | { kind: "link"; name: string; netns?: string }
  | { kind: "process"; pid: number; start: number }
  | { kind: "path"; path: string; tree?: boolean }
  | { kind: "mount"; path: string }
  | { kind: "sysctl"; key: string; value: string }
  | { kind: "undo"; what: string; argv: string[]; env?: Record<string, string>; stdin?: string };

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
    case "mount":
      return `mount ${obj.path}`;
    case "sysctl":
      return `sysctl ${obj.key}`;
    case "undo":
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

function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(4));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

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
    const id = randomId();
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

  /** Creates a directory (and records each missing parent), returns the path. */
  async mkdir(path: string): Promise<string> {
    const missing: string[] = [];
    for (let p = path; p !== "/" && !existsSync(p); p = p.slice(0, p.lastIndexOf("/")) || "/") {
      missing.unshift(p);
    }
    for (const dir of missing) {
      await this.record({ kind: "path", path: dir });
      mkdirSync(dir);
    }
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
      case "sysctl":
        return existsSync(ledgerPath(obj.key)) && ledgerUsers(obj.key).includes(this.id);
      case "undo":
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

/** Every owner with a journal. */
export async function listOwners(): Promise<Owner[]> {
  if (!existsSync(OWNERS_DIR)) return [];
  const owners: Owner[] = [];
  for (const f of readdirSync(OWNERS_DIR).filter((f) => f.endsWith(".jsonl")).sort()) {
    try {
      owners.push(await Owner.open(f.slice(0, -".jsonl".length)));
    } catch {
      // an empty journal (killed before its header was written): nothing was created
      rmSync(`${OWNERS_DIR}/${f}`, { force: true });
    }
  }
  return owners;
}

/** Releases the owners whose creating process died without finishing (and were not kept). */
export async function cleanStale(): Promise<{ owner: OwnerInfo; removed: string[] }[]> {
  const out: { owner: OwnerInfo; removed: string[] }[] = [];
  for (const owner of await listOwners()) {
    if (owner.info.kept || owner.creatorAlive()) continue;
    out.push({ owner: owner.info, removed: await owner.release() });
  }
  return out;
}

/**
 * `cnilab clean`: releases every owner (kept ones too), then sweeps what carries cnilab's mark without a
 * journal: processes with CNILAB_OWNER, host links whose alias starts with `cnilab:`, sysctl ledgers.
 * Owners that belong to a process that is running right now are skipped unless `all` is set.
 */
export async function cleanAll(opts: { includeLive?: boolean } = {}): Promise<string[]> {
  const removed: string[] = [];
  const live = new Set<string>();
  for (const owner of await listOwners()) {
    if (!opts.includeLive && !owner.info.kept && owner.creatorAlive() && owner.info.pid !== process.pid) {
      live.add(owner.id);
      continue;
    }
    removed.push(...await owner.release());
  }
  for (const p of markedProcesses()) {
    if (live.has(p.owner)) continue;
    const start = processStart(p.pid);
    if (start !== undefined && await stopProcess(p.pid, start)) removed.push(`process ${p.pid}`);
  }
  for (const l of await link.list()) {
    if (!l.alias?.startsWith(MARK_PREFIX) || live.has(l.alias.slice(MARK_PREFIX.length))) continue;
    try {
      await link.del(l.name);
      removed.push(`link ${l.name}`);
    } catch {
      // gone already (a veth whose peer went first)
    }
  }
  if (existsSync(SYSCTL_DIR)) {
    for (const f of readdirSync(SYSCTL_DIR)) {
      const key = f.replace(/\.json$/, "");
      const users = ledgerUsers(key).filter((u) => live.has(u));
      if (users.length === 0) {
        restoreSysctl(key);
        removed.push(`sysctl ${key}`);
      }
    }
  }
  tidyStateDir({ allEmpty: true });
  return [...new Set(removed)];
}

/** Removes cnilab's state directories once they are empty, so /run is left as cnilab found it. */
export function tidyStateDir(opts: { allEmpty?: boolean } = {}): void {
  // `cnilab clean` also takes the empty directories other parts keep under /run/cnilab (sandboxes, …): a
  // kill -9 can fall between creating one and recording the first thing in it
  const extra = opts.allEmpty && existsSync(STATE_DIR)
    ? readdirSync(STATE_DIR).map((d) => `${STATE_DIR}/${d}`).filter(isDir)
    : [];
  for (const dir of [...extra, OWNERS_DIR, SYSCTL_DIR, STATE_DIR]) {
    try {
      rmdirSync(dir);
    } catch {
      // not empty (another owner is alive) or already gone
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Host settings: a ledger per sysctl keeps the value found before cnilab first changed it, and who uses it.

interface Ledger {
  original: string;
  users: string[];
}

function ledgerPath(key: string): string {
  return `${SYSCTL_DIR}/${key}.json`;
}

export { readSysctl };

/** The current value of a sysctl the ledger is about to change (it must exist). */
function currentValue(key: string): string {
  const value = readSysctl(key);
  if (value === undefined) throw new Error(`no such sysctl: ${key} (${sysctlPath(key)})`);
  return value;
}

function readLedger(key: string): Ledger | undefined {
  try {
    return JSON.parse(readFileSync(ledgerPath(key), "utf8")) as Ledger;
  } catch {
    return undefined;
  }
}

function ledgerUsers(key: string): string[] {
  return readLedger(key)?.users ?? [];
}

/**
 * Sets a host sysctl for an owner. The first owner to change it records the original value; the value is
 * restored when the last owner using it is released.
 */
export async function setSysctl(owner: Owner, key: string, value: string): Promise<void> {
  mkdirSync(SYSCTL_DIR, { recursive: true, mode: 0o700 });
  const ledger = readLedger(key) ?? { original: currentValue(key), users: [] };
  if (!ledger.users.includes(owner.id)) ledger.users.push(owner.id);
  writeFileSync(ledgerPath(key), JSON.stringify(ledger));
  await owner.record({ kind: "sysctl", key, value });
  writeFileSync(sysctlPath(key), value);
}

/**
 * Records a sysctl's current value for an owner without changing it, because something the owner runs
 * will (the bridge plugin turns on ip_forward as a gateway). Restored like {@link setSysctl}.
 */
export async function guardSysctl(owner: Owner, key: string): Promise<void> {
  await setSysctl(owner, key, currentValue(key));
}

function releaseSysctl(ownerId: string, key: string): boolean {
  const ledger = readLedger(key);
  if (!ledger) return false;
  ledger.users = ledger.users.filter((u) => u !== ownerId);
  if (ledger.users.length > 0) {
    writeFileSync(ledgerPath(key), JSON.stringify(ledger));
    return false;
  }
  restoreSysctl(key);
  return true;
}

function restoreSysctl(key: string): void {
  const ledger = readLedger(key);
  if (ledger) writeFileSync(sysctlPath(key), ledger.original);
  try {
    unlinkSync(ledgerPath(key));
  } catch {
    // already restored
  }
}

/** True when the path is a directory. */
export function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
