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
  title: string;
  mirrors: string;
  narration: string;
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
}

/** Every event cnilab emits. */
export type CnilabEvent =
  | CommandStartEvent
  | CommandEndEvent
  | LabStartEvent
  | StepStartEvent
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

/** Emits an event to every listener. A failing listener never breaks the work being reported. */
export function emit(event: CnilabEvent): void {
  for (const listener of listeners) {
    try {
      listener(event);
    } catch {
      // a view must not break the lab it reports on
    }
  }
}
