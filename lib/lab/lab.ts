/**
 * The lab runner. A lab is an ordered list of steps; each step names the chapter section/step it mirrors,
 * narrates what happens and why, performs the action, then runs checks that read the real state back.
 * Teardown always runs (success, failed check, exception, SIGINT, SIGTERM) unless `keep`, and is itself
 * verified: every object the run recorded must be gone.
 * @module
 */
import process from "node:process";
import { emit, type SequenceEvent } from "../events/mod.ts";
import { describe, type Owned, Owner, sleep } from "../ownership/mod.ts";
import type { StepController } from "./step.ts";

export type { StepAnswer, StepController, StepInfo } from "./step.ts";

/** What a step and its checks can use. */
export interface LabContext<S> {
  /** Owns (and records) everything the lab creates. */
  owner: Owner;
  /** The lab's own state, shared between steps. */
  state: S;
  /** Shows a line of narration or output. */
  note(text: string): void;
  /** A check: the real value read back must equal what the chapter says. */
  expect(name: string, actual: unknown, expected: unknown): boolean;
  /** A check for a condition, with words for what was expected and what was found. */
  expectThat(name: string, ok: boolean, expected: string, actual: string): boolean;
  /**
   * Shows a file that was written (by the lab, the runtime or a plugin) as the command a person would
   * type to write it: `cat > PATH <<EOF`, the content, `EOF`.
   */
  fileWritten(path: string, content: string, mode?: number): void;
  /** Writes a file the story is about (recorded like {@link Owner.writeFile}) and shows it being written. */
  writeFile(path: string, content: string, mode?: number): Promise<void>;
  /** Records a sequence of calls (kubelet → runtime → plugins) for the handout's sequence diagram. */
  sequence(title: string, participants: string[], messages: SequenceEvent["messages"]): void;
}

/** One step of a lab. */
export interface Step<S> {
  title: string;
  /** The chapter box/step this step reproduces, e.g. "2.5 Creation flow, step 1". */
  mirrors: string;
  /** What happens and why, in one or two sentences. */
  narration: string;
  /** Performs the step. */
  run(ctx: LabContext<S>): Promise<void>;
  /** Reads the real state back and checks it with ctx.expect. */
  check?(ctx: LabContext<S>): Promise<void>;
  /** A step of the lab's own deletion flow: skipped with `keep`, so the lab stays standing. */
  deletes?: boolean;
}

/** A lab: one section of the chapter, built for real. */
export interface Lab<S = unknown> {
  /** The chapter section's slug, e.g. "network-namespace-lifecycle". */
  id: string;
  /** The section number, e.g. "2.5". */
  section: string;
  title: string;
  summary: string;
  /** Fresh state for a run. */
  init(): S;
  /** Checks that nothing in the way exists before anything is created (throws to refuse, exit code 2). */
  preflight?(ctx: LabContext<S>): Promise<void>;
  steps: Step<S>[];
  /** Commands to explore the lab when it is kept standing. */
  explore?(ctx: LabContext<S>): string[];
}

/** How to run a lab. */
export interface RunOptions {
  /** Leave the lab standing (no teardown). */
  keep?: boolean;
  /** Wait for this before each step (tests use it to break state mid-lab). */
  beforeStep?: (index: number, title: string) => Promise<void>;
  /** Step mode: asked before each step, after its introduction was shown (run, repeat or quit). */
  controller?: StepController;
  /** Called after each step that passed (e.g. to read the topology for a transcript). */
  afterStep?: (index: number) => Promise<void>;
  /** Handle SIGINT/SIGTERM: tear down, then exit 130/143 (default true). */
  handleSignals?: boolean;
  /**
   * After an interrupted run (a signal, or quit at a step prompt), exit the process with 130/143 (default
   * true when handleSignals). The CLI turns it off to finish its report first, then exits with the code.
   */
  exitOnInterrupt?: boolean;
}

/** A check's outcome. */
export interface CheckResult {
  name: string;
  ok: boolean;
  expected: unknown;
  actual: unknown;
}

/** The outcome of a lab run. */
export interface LabReport {
  lab: string;
  section: string;
  runId: string;
  ok: boolean;
  kept: boolean;
  durationMs: number;
  steps: {
    title: string;
    mirrors: string;
    ok: boolean;
    durationMs: number;
    checks: CheckResult[];
    error?: string;
  }[];
  teardown?: { removed: string[]; leftovers: string[]; checks: CheckResult[] };
  explore?: string[];
  /** Set when the run was stopped: by a signal or by quitting at a step prompt. */
  interrupted?: Interruption;
}

/** How a run was stopped before its end. */
export interface Interruption {
  /** The signal, or "quit" (q or Ctrl-C at a step prompt: treated like SIGINT). */
  by: "SIGINT" | "SIGTERM" | "quit";
  /** The step (1-based) that was running or about to run, of how many. */
  step: number;
  of: number;
  /** In words, e.g. "SIGINT" or "Ctrl-C at the prompt". */
  reason: string;
  /** The exit code a CLI gives it: 130 for SIGINT and quit, 143 for SIGTERM. */
  exitCode: number;
}

/** The lab refused to start: something it needs is missing or in the way (exit code 2). */
export class LabNotReady extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LabNotReady";
  }
}

/** Quotes a word for sh when it needs it. */
function shWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
}

/**
 * What a person types to write a file: a here-document for a multi-line text, else printf with escapes,
 * exact to the byte (a host-local reservation is "<id>\r\neth0", no final newline); then chmod when the
 * mode is not the default.
 */
export function fileCommand(
  path: string,
  content: string,
  mode = 0o644,
): { command: string; heredoc: boolean; after?: string[] } {
  const after = mode === 0o644 ? undefined : [`chmod ${mode.toString(8)} ${shWord(path)}`];
  // (a here-document ends the file with a newline: for a multi-line text file that is what a person writes)
  // deno-lint-ignore no-control-regex
  const plain = content.includes("\n") && !/[\x00-\x08\x0b-\x1f\x7f]/.test(content) &&
    !/^EOF$/m.test(content);
  if (plain) return { command: `cat > ${shWord(path)} <<'EOF'`, heredoc: true, after };
  const escaped = content.replaceAll("\\", "\\\\").replaceAll("%", "%%").replaceAll("\r", "\\r")
    .replaceAll("\n", "\\n").replaceAll("\t", "\\t");
  return { command: `printf ${shWord(escaped)} > ${shWord(path)}`, heredoc: false, after };
}

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * What of `objects` (recorded by `owner`, then released) still exists, described; empty when teardown
 * removed it all. The kernel frees a deleted namespace's links asynchronously: it is given up to 2 s
 * before a survivor is called a leftover.
 */
export async function leftoversOf(owner: Owner, objects: readonly Owned[]): Promise<string[]> {
  let leftovers: string[] = [];
  for (let attempt = 0; attempt < 20; attempt++) {
    leftovers = [];
    for (const obj of objects) {
      if (obj.kind !== "undo" && await owner.exists(obj)) leftovers.push(describe(obj));
    }
    if (leftovers.length === 0) break;
    await sleep(100);
  }
  return leftovers;
}

/** Runs a lab from its first step to its verified teardown. */
export async function runLab<S>(lab: Lab<S>, options: RunOptions = {}): Promise<LabReport> {
  const started = performance.now();
  const owner = await Owner.begin("lab", lab.id);
  const report: LabReport = {
    lab: lab.id,
    section: lab.section,
    runId: owner.id,
    ok: true,
    kept: false,
    durationMs: 0,
    steps: [],
  };
  let checks: CheckResult[] = [];
  const check = (name: string, ok: boolean, expected: unknown, actual: unknown): boolean => {
    checks.push({ name, ok, expected, actual });
    emit({ type: "check", name, ok, expected, actual });
    return ok;
  };
  const ctx: LabContext<S> = {
    owner,
    state: lab.init(),
    note: (text) => emit({ type: "note", text }),
    expect: (name, actual, expected) => check(name, deepEqual(actual, expected), expected, actual),
    expectThat: (name, ok, expected, actual) => check(name, ok, expected, actual),
    fileWritten: (path, content, mode) =>
      emit({ type: "file", path, content, ...fileCommand(path, content, mode) }),
    writeFile: async (path, content, mode = 0o644) => {
      await owner.writeFile(path, content, mode);
      emit({ type: "file", path, content, ...fileCommand(path, content, mode) });
    },
    sequence: (title, participants, messages) => emit({ type: "sequence", title, participants, messages }),
  };

  // A signal ends the run: let the command in flight finish (bounded), then tear down and exit.
  let interrupted: "SIGINT" | "SIGTERM" | "quit" | undefined;
  let interruptReason = "";
  let atStep = 0;
  let onAbort: () => void = () => {};
  const aborted = new Promise<void>((resolve) => (onAbort = resolve));
  const abortQuestion = new AbortController();
  const signalHandlers = (["SIGINT", "SIGTERM"] as const).map((sig) => {
    const handler = () => {
      if (interrupted) return; // a second signal: teardown is already under way
      interrupted = sig;
      interruptReason = sig;
      abortQuestion.abort();
      onAbort();
    };
    if (options.handleSignals !== false) process.on(sig, handler);
    return [sig, handler] as const;
  });

  emit({ type: "lab:start", lab: lab.id, section: lab.section, title: lab.title, runId: owner.id });
  let failure: string | undefined;
  try {
    if (lab.preflight) await lab.preflight(ctx);
    for (const [index, step] of lab.steps.entries()) {
      if (options.keep && step.deletes) break;
      atStep = index + 1;
      const info = {
        lab: lab.id,
        section: lab.section,
        index,
        count: lab.steps.length,
        title: step.title,
        mirrors: step.mirrors,
        narration: step.narration,
      };
      emit({
        type: "step:start",
        index,
        of: lab.steps.length,
        title: step.title,
        mirrors: step.mirrors,
        narration: step.narration,
      });
      if (options.controller) {
        // the step's introduction is on the screen: ask what to do, as often as "repeat" says
        for (;;) {
          const answer = await Promise.race([
            options.controller.next(info, abortQuestion.signal),
            aborted.then(() => "quit" as const),
          ]);
          if (interrupted) break;
          if (answer === "run") break;
          if (answer === "quit") {
            interrupted = "quit";
            interruptReason = options.controller.quitReason?.() ?? "quit at the prompt";
            onAbort();
            break;
          }
          emit({
            type: "step:repeat",
            index,
            title: step.title,
            mirrors: step.mirrors,
            narration: step.narration,
          });
        }
        if (interrupted) break;
      }
      if (options.beforeStep) {
        await Promise.race([options.beforeStep(index, step.title), aborted]);
        if (interrupted) break;
      }
      checks = [];
      const stepStarted = performance.now();
      let error: string | undefined;
      const work = (async () => {
        await step.run(ctx);
        if (step.check) await step.check(ctx);
      })();
      try {
        await Promise.race([work, aborted]);
        if (interrupted) {
          // bounded wait so the object being created right now is recorded before teardown reads the journal
          let timer: ReturnType<typeof setTimeout> | undefined;
          await Promise.race([work.catch(() => {}), new Promise((r) => (timer = setTimeout(r, 5000)))]);
          clearTimeout(timer); // a pending timer would keep the process alive after the report
          error = `interrupted by ${interruptReason}`;
        }
      } catch (e) {
        error = e instanceof Error ? e.message : String(e);
      }
      const ok = error === undefined && checks.every((c) => c.ok);
      const durationMs = performance.now() - stepStarted;
      emit({ type: "step:end", index, ok, durationMs, error });
      report.steps.push({ title: step.title, mirrors: step.mirrors, ok, durationMs, checks, error });
      if (!ok) {
        failure = error ?? `step ${index + 1} "${step.title}": a check failed`;
        break;
      }
      if (options.afterStep) await options.afterStep(index);
    }
    if (interrupted && !failure) {
      failure = `interrupted at step ${atStep} of ${lab.steps.length} (${interruptReason})`;
    }
  } catch (e) {
    // preflight refused: nothing was created yet, but the journal is released all the same
    failure = e instanceof Error ? e.message : String(e);
    report.ok = false;
    await owner.release();
    for (const [sig, handler] of signalHandlers) process.off(sig, handler);
    throw e;
  }

  report.ok = failure === undefined;
  if (interrupted) {
    report.interrupted = {
      by: interrupted,
      step: atStep,
      of: lab.steps.length,
      reason: interruptReason,
      exitCode: interrupted === "SIGTERM" ? 143 : 130,
    };
  }
  if (options.keep && !interrupted) {
    await owner.keep();
    report.kept = true;
    // the lab's own explore commands, then the run's own view and its own removal (not `cnilab clean`)
    report.explore = [
      ...(lab.explore?.(ctx) ?? []).filter((c) => c !== "cnilab clean"),
      `cnilab show --run ${owner.id}`,
      `cnilab down ${owner.id}`,
    ];
  } else {
    checks = [];
    report.teardown = { ...await teardown(owner, failure ?? "the lab finished", check), checks };
    if (report.teardown.leftovers.length > 0) report.ok = false;
  }
  report.durationMs = performance.now() - started;
  const all = [...report.steps.flatMap((s) => s.checks), ...(report.teardown?.checks ?? [])];
  emit({
    type: "lab:end",
    lab: lab.id,
    ok: report.ok,
    kept: report.kept,
    durationMs: report.durationMs,
    passed: all.filter((c) => c.ok).length,
    failed: all.filter((c) => !c.ok).length,
    interrupted: report.interrupted
      ? { step: report.interrupted.step, of: report.interrupted.of, reason: report.interrupted.reason }
      : undefined,
    teardownVerified: report.teardown ? report.teardown.leftovers.length === 0 : undefined,
  });
  for (const [sig, handler] of signalHandlers) process.off(sig, handler);
  if (
    report.interrupted && options.handleSignals !== false && options.exitOnInterrupt !== false
  ) process.exit(report.interrupted.exitCode);
  return report;
}

/** Releases everything the run recorded, then checks that each object is really gone. */
async function teardown(
  owner: Owner,
  reason: string,
  check: (name: string, ok: boolean, expected: unknown, actual: unknown) => boolean,
): Promise<{ removed: string[]; leftovers: string[] }> {
  emit({ type: "teardown", phase: "start", reason });
  const objects: Owned[] = owner.objects();
  const removed = await owner.release();
  emit({ type: "teardown", phase: "end", reason, removed });
  const leftovers = await leftoversOf(owner, objects);
  check("teardown left nothing behind", leftovers.length === 0, [], leftovers);
  return { removed, leftovers };
}

/** A registered lab with its state type erased, as the CLI lists and runs it. */
export interface LabEntry {
  id: string;
  section: string;
  title: string;
  summary: string;
  steps: number;
  run(options?: RunOptions): Promise<LabReport>;
}

/** Registers a lab. */
export function entry<S>(lab: Lab<S>): LabEntry {
  return {
    id: lab.id,
    section: lab.section,
    title: lab.title,
    summary: lab.summary,
    steps: lab.steps.length,
    run: (options) => runLab(lab, options),
  };
}
