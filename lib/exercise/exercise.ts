/**
 * Self-check exercises for workshops. An exercise is a folder of plain files under `exercises/<id>/`:
 *
 * - `task.md`: front matter (`section`, `title`, `summary`) and the task the attendee reads;
 * - `hints.md`: hints separated by lines holding only `---`, revealed one at a time;
 * - `checks.yaml`: the names the exercise asks the attendee to use (the reset contract), variables, the
 *   checks, declarative (see ./checks.ts), and `troubleshooting: true` when `check` should show only the
 *   first check not passing; `checks.ts` beside it only for checks that need code;
 * - `solution.sh`: the reference solution (`solve <id> ARG...` passes it arguments; files it installs may
 *   live in `solution/`); `setup.sh` (optional): the starting state `start` prepares.
 *
 * The attendee's progress (hints taken, start and pass times) is ./progress.ts; the instructor's report
 * and class table ./report.ts.
 *
 * The runner never needs to change when an exercise is added. `${WORK}` (the exercise's own directory
 * under /run/cnilab/exercises), `${EXDIR}` (its folder), `${REPO}`, `${CNILAB}` (the CLI) and the variables of
 * checks.yaml are substituted in the task, the hints and the checks.
 *
 * What the runner creates (the work dir, directories a first CNI call will create, what `setup.sh` and
 * `solution.sh` leave) is recorded with an {@link Owner} of kind "exercise", so `reset` and `cnilab clean`
 * remove it. What the attendee creates is found by the names the task asks them to use (checks.yaml
 * `names`): `reset` removes exactly the objects matching them, and nothing else.
 * @module
 */
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import process from "node:process";
import { parse as parseYaml } from "yaml";
import { link, netns } from "../iproute2/mod.ts";
import {
  listOwners,
  Owner,
  processAlive,
  processStart,
  sleep,
  STATE_DIR,
  tidyStateDir,
} from "../ownership/mod.ts";
import { run } from "../shell/mod.ts";
import { REPO_ROOT } from "../util/mod.ts";

/** The repository root (lib/util). */
export { REPO_ROOT };
/** Where exercise folders live (overridable for tests and instructors with CNILAB_EXERCISES). */
export const EXERCISES_DIR = process.env.CNILAB_EXERCISES ?? `${REPO_ROOT}/exercises`;
/** Where each exercise keeps its state and the attendee's files. */
export const WORK_ROOT = `${STATE_DIR}/exercises`;
/** The CLI, as the attendee runs it. */
export const CNILAB = `${REPO_ROOT}/bin/cnilab`;

/** The names an exercise asks the attendee to use: `reset` removes exactly what matches them. */
export interface ExerciseNames {
  /** Regular expressions for network namespace names (their processes are stopped first). */
  netns?: string[];
  /** Regular expressions for link names in the host namespace. */
  links?: string[];
  /** Kubernetes namespaces of pods run with `cnilab pod run`. */
  pods?: string[];
  /** Paths, `*` allowed in the last component (files or directories, removed recursively). */
  paths?: string[];
}

/** One check as written in checks.yaml (see ./checks.ts for the kinds). */
export type CheckSpec = Record<string, unknown> & { name?: string; hint?: string };

/** An exercise, loaded from its folder. */
export interface Exercise {
  id: string;
  dir: string;
  section: string;
  title: string;
  summary: string;
  /** Task text, variables substituted. */
  task: string;
  hints: string[];
  names: Required<ExerciseNames>;
  /** Directories a first attempt may create (e.g. /var/lib/cni/results): removed by reset when empty. */
  createsDirs: string[];
  vars: Record<string, string>;
  checks: CheckSpec[];
  /**
   * A troubleshooting exercise (checks.yaml `troubleshooting: true`): `check` shows only the first check
   * not passing, so that one check does not list every planted fault (or what the task asks to find).
   */
  troubleshooting: boolean;
  /** `setup.sh` (or `setup.ts`), when the exercise has a starting state. */
  setup?: string;
  solution?: string;
  /** `checks.ts`, for checks that need code. */
  code?: string;
}

/** An exercise folder that cannot be used; the message names the file. */
export class ExerciseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ExerciseError";
  }
}

/** The exercise's own directory under /run/cnilab/exercises. */
export function workDir(id: string): string {
  return `${WORK_ROOT}/${id}`;
}

/** Substitutes `${NAME}` with vars; unknown names stay as they are (a later check may bind them). */
export function substitute(text: string, vars: Record<string, string>): string {
  return text.replace(/\$\{([A-Za-z_][\w.]*)\}/g, (m, k: string) => vars[k] ?? m);
}

function splitFrontMatter(text: string, file: string): { meta: Record<string, unknown>; body: string } {
  const m = /^---\n([\s\S]*?)\n---\n?([\s\S]*)$/.exec(text);
  if (!m) {
    throw new ExerciseError(`${file}: starts without front matter (---, section:, title:, summary:, ---)`);
  }
  return { meta: (parseYaml(m[1]) ?? {}) as Record<string, unknown>, body: m[2].trim() + "\n" };
}

function strings(value: unknown, what: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== "string")) {
    throw new ExerciseError(`${what} must be a list of strings`);
  }
  return value as string[];
}

function readHints(dir: string): string[] {
  if (existsSync(`${dir}/hints.md`)) {
    return readFileSync(`${dir}/hints.md`, "utf8").split(/^---\s*$/m).map((h) => h.trim()).filter(Boolean);
  }
  if (existsSync(`${dir}/hints`)) {
    return readdirSync(`${dir}/hints`).filter((f) => f.endsWith(".md")).sort()
      .map((f) => readFileSync(`${dir}/hints/${f}`, "utf8").trim());
  }
  return [];
}

/** Loads one exercise folder. */
export function loadExercise(id: string, root = EXERCISES_DIR): Exercise {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(id)) throw new ExerciseError(`not an exercise id: ${JSON.stringify(id)}`);
  const dir = `${root}/${id}`;
  if (!existsSync(`${dir}/task.md`)) {
    throw new ExerciseError(`no exercise '${id}' (no ${dir}/task.md); run 'cnilab exercise list'`);
  }
  const { meta, body } = splitFrontMatter(readFileSync(`${dir}/task.md`, "utf8"), `${dir}/task.md`);
  const checksFile = `${dir}/checks.yaml`;
  if (!existsSync(checksFile)) throw new ExerciseError(`${checksFile} is missing`);
  let spec: Record<string, unknown>;
  try {
    spec = (parseYaml(readFileSync(checksFile, "utf8")) ?? {}) as Record<string, unknown>;
  } catch (error) {
    throw new ExerciseError(`${checksFile}: ${(error as Error).message}`);
  }
  const names = (spec.names ?? {}) as ExerciseNames;
  const vars: Record<string, string> = {
    ID: id,
    WORK: workDir(id),
    EXDIR: dir,
    REPO: REPO_ROOT,
    CNILAB,
    ...Object.fromEntries(Object.entries(spec.vars ?? {}).map(([k, v]) => [k, String(v)])),
  };
  // vars may use the built-in ones (`${WORK}/net.d`)
  for (const k of Object.keys(vars)) vars[k] = substitute(vars[k], vars);
  const checks = spec.checks;
  if (!Array.isArray(checks) || checks.length === 0) throw new ExerciseError(`${checksFile}: no checks`);
  const file = (name: string) => existsSync(`${dir}/${name}`) ? `${dir}/${name}` : undefined;
  for (const key of ["section", "title", "summary"]) {
    if (typeof meta[key] !== "string" && typeof meta[key] !== "number") {
      throw new ExerciseError(`${dir}/task.md: front matter lacks '${key}'`);
    }
  }
  return {
    id,
    dir,
    section: String(meta.section),
    title: String(meta.title),
    summary: String(meta.summary),
    task: substitute(body, vars),
    hints: readHints(dir).map((h) => substitute(h, vars)),
    names: {
      netns: strings(names.netns, `${checksFile}: names.netns`),
      links: strings(names.links, `${checksFile}: names.links`),
      pods: strings(names.pods, `${checksFile}: names.pods`),
      paths: strings(names.paths, `${checksFile}: names.paths`).map((p) => substitute(p, vars)),
    },
    createsDirs: strings(spec.creates_dirs, `${checksFile}: creates_dirs`).map((p) => substitute(p, vars)),
    vars,
    checks: checks as CheckSpec[],
    troubleshooting: spec.troubleshooting === true,
    setup: file("setup.sh") ?? file("setup.ts"),
    solution: file("solution.sh") ?? file("solution.ts"),
    code: file("checks.ts"),
  };
}

/** Every exercise, by chapter section then id. */
export function listExercises(root = EXERCISES_DIR): Exercise[] {
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((d) => existsSync(`${root}/${d}/task.md`))
    .map((d) => loadExercise(d, root))
    .sort((a, b) => a.section.localeCompare(b.section, "en", { numeric: true }) || a.id.localeCompare(b.id));
}

// ---------------------------------------------------------------------------------------------------
// State: one owner per exercise (kind "exercise", label = id), kept standing between commands.

/** True once `start` (or `solve`) prepared the exercise. */
export function started(ex: Exercise): boolean {
  return existsSync(`${workDir(ex.id)}/.started`);
}

async function findOwner(id: string): Promise<Owner | undefined> {
  return (await listOwners()).find((o) => o.info.kind === "exercise" && o.info.label === id);
}

/**
 * The exercise's owner, created on first use together with the work dir (recorded as a whole tree: it
 * holds only this exercise's files) and the directories a first attempt may create.
 */
export async function exerciseOwner(ex: Exercise): Promise<Owner> {
  const found = await findOwner(ex.id);
  if (found) {
    mkdirSync(workDir(ex.id), { recursive: true }); // the attendee may have removed it
    return found;
  }
  const owner = await Owner.begin("exercise", ex.id);
  await owner.keep();
  if (!existsSync(WORK_ROOT)) await owner.mkdir(WORK_ROOT);
  const work = workDir(ex.id);
  await owner.record({ kind: "path", path: work, tree: true });
  mkdirSync(work, { recursive: true });
  for (const dir of ex.createsDirs) {
    // recorded, not created: removed at release only when it is still empty (someone else may use it)
    const missing: string[] = [];
    for (let p = dir; p !== "/" && !existsSync(p); p = p.slice(0, p.lastIndexOf("/")) || "/") {
      missing.unshift(p);
    }
    for (const p of missing) await owner.record({ kind: "path", path: p });
  }
  return owner;
}

/** The environment of setup.sh and solution.sh. */
export function scriptEnv(ex: Exercise, owner: Owner): Record<string, string> {
  return {
    ...ex.vars,
    CNILAB_MARK: owner.mark,
    PATH: `${REPO_ROOT}/bin:${process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin"}`,
  };
}

async function runScript(ex: Exercise, owner: Owner, script: string, args: string[] = []): Promise<string> {
  const argv = [
    ...(script.endsWith(".ts") ? [`${REPO_ROOT}/node_modules/.bin/bun`, script] : ["bash", script]),
    ...args,
  ];
  const r = await run(argv, { env: scriptEnv(ex, owner), check: false });
  if (r.code !== 0) {
    throw new ExerciseError(
      `${script} exited ${r.code}: ${(r.stderr.trim() || r.stdout.trim()).split("\n").slice(-4).join(" / ")}`,
    );
  }
  return r.stdout;
}

/**
 * Records what a script left that matches the exercise's names (namespaces with the processes in them; host
 * links, marked with the owner's alias when unmarked), so `cnilab clean` finds it too.
 */
async function adopt(ex: Exercise, owner: Owner): Promise<void> {
  const known = new Set(owner.objects().map((o) => JSON.stringify(o)));
  const add = async (obj: Parameters<Owner["record"]>[0]) => {
    if (!known.has(JSON.stringify(obj))) await owner.record(obj);
  };
  for (const n of await netns.list()) {
    if (!matchesAny(n.name, ex.names.netns)) continue;
    // its processes first (a holder, an app): release stops them before it deletes the namespace
    for (const pid of await netns.pids(n.name)) {
      const start = processStart(pid);
      if (start !== undefined) await add({ kind: "process", pid, start });
    }
    await add({ kind: "netns", name: n.name });
  }
  for (const l of await link.list()) {
    if (!matchesAny(l.name, ex.names.links)) continue;
    if (l.alias && l.alias !== owner.mark) continue;
    if (!l.alias) await link.setAlias(l.name, owner.mark);
    await add({ kind: "link", name: l.name });
  }
}

function matchesAny(name: string, patterns: string[]): boolean {
  return patterns.some((p) => new RegExp(p).test(name));
}

/** `start`: prepares the starting state (once) and returns the task. */
export async function startExercise(ex: Exercise): Promise<{ task: string; setupOutput: string }> {
  const owner = await exerciseOwner(ex);
  let setupOutput = "";
  if (!started(ex)) {
    if (ex.setup) {
      try {
        setupOutput = await runScript(ex, owner, ex.setup);
      } catch (error) {
        throw new ExerciseError(
          `${
            (error as Error).message
          } (leftovers of an earlier start may be in the way: 'cnilab exercise reset ${ex.id}' first)`,
        );
      } finally {
        await adopt(ex, owner);
      }
    }
    writeFileSync(`${workDir(ex.id)}/.started`, new Date().toISOString() + "\n");
  }
  return { task: ex.task, setupOutput };
}

/**
 * `solve`: starts the exercise if needed, then runs the reference solution (with `args`, e.g. which of
 * several solutions); returns its output.
 */
export async function solveExercise(ex: Exercise, args: string[] = []): Promise<string> {
  if (!ex.solution) throw new ExerciseError(`${ex.dir} has no solution.sh`);
  await startExercise(ex);
  const owner = await exerciseOwner(ex);
  try {
    return await runScript(ex, owner, ex.solution, args);
  } catch (error) {
    throw new ExerciseError(
      `${
        (error as Error).message
      } (an earlier attempt may be in the way: 'cnilab exercise reset ${ex.id}' first)`,
    );
  } finally {
    await adopt(ex, owner);
  }
}

function expandPath(pattern: string): string[] {
  const slash = pattern.lastIndexOf("/");
  const dir = pattern.slice(0, slash) || "/";
  const base = pattern.slice(slash + 1);
  if (!base.includes("*")) return existsSync(pattern) ? [pattern] : [];
  if (!existsSync(dir)) return [];
  const re = new RegExp(
    `^${base.split("*").map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`,
  );
  return readdirSync(dir).filter((f) => re.test(f)).map((f) => `${dir}/${f}`);
}

function comm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "gone";
  }
}

async function stopPids(pids: number[]): Promise<void> {
  const alive = pids.map((pid) => ({ pid, start: processStart(pid) ?? 0 })).filter((p) => p.start);
  for (const p of alive) {
    try {
      process.kill(p.pid, "SIGTERM");
    } catch { /* gone */ }
  }
  for (let i = 0; i < 40 && alive.some((p) => processAlive(p.pid, p.start)); i++) await sleep(25);
  for (const p of alive.filter((p) => processAlive(p.pid, p.start))) {
    try {
      process.kill(p.pid, "SIGKILL");
    } catch { /* gone */ }
  }
}

/**
 * `reset`: removes what the attendee's attempt created (pods in the declared pod namespaces, processes in
 * and then the declared namespaces, declared host links and paths), then everything the exercise's owner
 * recorded (work dir, setup's objects, directories first created by the attempt). Returns what it removed.
 */
export async function resetExercise(ex: Exercise): Promise<string[]> {
  const removed: string[] = [];
  if (ex.names.pods.length > 0) {
    const { listPodSandbox, removePodSandbox } = await import("../sandbox/mod.ts");
    for (const s of listPodSandbox().filter((s) => ex.names.pods.includes(s.namespace))) {
      await removePodSandbox(s.id);
      removed.push(`pod ${s.namespace}/${s.name}`);
    }
  }
  for (const n of await netns.list()) {
    if (!matchesAny(n.name, ex.names.netns)) continue;
    const pids = await netns.pids(n.name);
    for (const pid of pids) removed.push(`process ${pid} (${comm(pid)})`);
    await stopPids(pids);
    await netns.del(n.name);
    removed.push(`netns ${n.name}`);
  }
  for (const l of await link.list()) {
    if (!matchesAny(l.name, ex.names.links)) continue;
    await link.del(l.name).catch(() => undefined); // a veth whose peer went with its namespace
    removed.push(`link ${l.name}`);
  }
  for (const pattern of ex.names.paths) {
    for (const path of expandPath(pattern)) {
      rmSync(path, { recursive: true, force: true });
      removed.push(`file ${path}`);
    }
  }
  const owner = await findOwner(ex.id);
  if (owner) removed.push(...await owner.release());
  // the exercises' shared root was recorded by whichever exercise came first; the last one out removes it
  try {
    rmdirSync(WORK_ROOT);
    removed.push(`file ${WORK_ROOT}`);
    tidyStateDir();
  } catch {
    // another exercise's state is still there, or it is gone already
  }
  return [...new Set(removed)];
}

/** True when the path exists and is a directory. */
export function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
