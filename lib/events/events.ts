/**
 * One typed stream of events that everything in cnilab emits: commands, lab steps, checks, teardown.
 * The terminal narration, `--json` report and (later) transcripts are views of this one stream.
 * @module
 */

/**
 * Why a command runs: "action" changes state, "read" looks at state for a check, "show" is run so a person
 * sees its output (the chapter's "Viewing Namespaces" commands).
 */
export type Purpose = "action" | "read" | "show";

/** A command started (argv as run; `stdin` for `ip -batch` and plugin input). */
export interface CommandStartEvent {
  type: "command:start";
  id: number;
  argv: string[];
  stdin?: string;
  /** Why the command runs: an action that changes state, or a read for a check. */
  purpose: Purpose;
}

/** A command finished. */
export interface CommandEndEvent {
  type: "command:end";
  id: number;
  argv: string[];
  stdin?: string;
  purpose: Purpose;
  code: number;
  durationMs: number;
  stdout: string;
  stderr: string;
}

/** A lab started. */
export interface LabStartEvent {
  type: "lab:start";
  lab: string;
  section: string;
  title: string;
  runId: string;
}

/** A step of a lab started; `mirrors` names the chapter box/step it reproduces. */
export interface StepStartEvent {
  type: "step:start";
  index: number;
  /** How many steps the lab has. */
  of?: number;
  title: string;
  mirrors: string;
  narration: string;
}

/** Step mode: the presenter asked to see the step's introduction again before it runs. */
export interface StepRepeatEvent {
  type: "step:repeat";
  index: number;
  title: string;
  mirrors: string;
  narration: string;
}

/** Something the runtime or a plugin warned about while it worked (e.g. a config file it skipped). */
export interface WarningEvent {
  type: "warning";
  message: string;
}

/**
 * A file was written as part of the story (a reservation, a pod's resolv.conf): `command` is what a
 * person would type to write the same file by hand.
 */
export interface FileEvent {
  type: "file";
  path: string;
  content: string;
  /** e.g. `cat > /var/lib/cni/networks/net/10.250.1.2 <<'EOF'` (then the content and EOF). */
  command: string;
  /** The command is a here-document: the content follows it, then a line `EOF`. */
  heredoc: boolean;
  /** Commands typed after it (a chmod). */
  after?: string[];
}

/**
 * A sequence of calls a lab recorded (kubelet → runtime → plugins): handouts draw it as a Mermaid
 * sequenceDiagram.
 */
export interface SequenceEvent {
  type: "sequence";
  title: string;
  /** In the order they are drawn, left to right. */
  participants: string[];
  messages: { from: string; to: string; text: string; reply?: boolean }[];
}

/** A check compared the real state with what the chapter says it should be. */
export interface CheckEvent {
  type: "check";
  name: string;
  ok: boolean;
  expected: unknown;
  actual: unknown;
}

/** Narration or output a lab wants to show (e.g. the "Viewing Namespaces" output). */
export interface NoteEvent {
  type: "note";
  text: string;
}

/** A step finished. */
export interface StepEndEvent {
  type: "step:end";
  index: number;
  ok: boolean;
  durationMs: number;
  error?: string;
}

/** Teardown started or finished; `removed` lists what was removed. */
export interface TeardownEvent {
  type: "teardown";
  phase: "start" | "end";
  reason: string;
  removed?: string[];
}

/** A lab ended. */
export interface LabEndEvent {
  type: "lab:end";
  lab: string;
  ok: boolean;
  kept: boolean;
  durationMs: number;
  passed: number;
  failed: number;
  /** Set when the run was stopped early (a signal, or quit at a step prompt). */
  interrupted?: { step: number; of: number; reason: string };
  /** Whether teardown found nothing left (undefined when the lab was kept). */
  teardownVerified?: boolean;
}

/** Every event cnilab emits. */
export type CnilabEvent =
  | CommandStartEvent
  | CommandEndEvent
  | LabStartEvent
  | StepStartEvent
  | StepRepeatEvent
  | WarningEvent
  | FileEvent
  | SequenceEvent
  | CheckEvent
  | NoteEvent
  | StepEndEvent
  | TeardownEvent
  | LabEndEvent;

/** A listener of the event stream. */
export type Listener = (event: CnilabEvent) => void;

const listeners = new Set<Listener>();

/** Subscribes to every event; returns the function that unsubscribes. */
export function subscribe(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

let unobservedDepth = 0;

/**
 * Runs `fn` with its commands off the stream: reads a view makes for itself (a transcript's topology
 * snapshot) are not part of the story, so they must not change what the terminal shows.
 */
export async function unobserved<T>(fn: () => Promise<T>): Promise<T> {
  unobservedDepth++;
  try {
    return await fn();
  } finally {
    unobservedDepth--;
  }
}

/**
 * A warning from the runtime or a plugin: an event when something listens (a lab run's views put it under
 * its step), otherwise a line on stderr.
 */
export function warn(message: string): void {
  if (listeners.size === 0) console.error(`warning: ${message}`);
  else emit({ type: "warning", message });
}

/** Emits an event to every listener. A failing listener never breaks the work being reported. */
export function emit(event: CnilabEvent): void {
  if (unobservedDepth > 0 && (event.type === "command:start" || event.type === "command:end")) return;
  for (const listener of listeners) {
    try {
      listener(event);
    } catch {
      // a view must not break the lab it reports on
    }
  }
}
