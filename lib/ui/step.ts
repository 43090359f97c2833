/**
 * The page as a step controller: `cnilab run <lab> --step --ui` asks it before each step, and the page's
 * Next / Repeat / Quit buttons answer. The terminal's prompt is the other implementation (lib/lab).
 * @module
 */
import { spawn } from "node:child_process";
import process from "node:process";
import { createInterface } from "node:readline";
import { type CnilabEvent, subscribe } from "../events/mod.ts";
import type { StepController, StepInfo } from "../lab/step.ts";
import type { FromChild, ToChild } from "./child.ts";
import type { StepAnswer } from "./model.ts";
import { REPO_ROOT } from "../util/mod.ts";

const CHILD = new URL("./child.ts", import.meta.url).pathname;
const BUN = `${REPO_ROOT}/node_modules/.bin/bun`;

/** The page of a running lab: its URL, the step controller it offers, and how to end it. */
export interface LabPage {
  url: string;
  /** Answers step mode from the page's buttons. */
  controller: StepController;
  /** Shows the lab has finished and waits for Quit on the page (or SIGINT/SIGTERM here). */
  waitForQuit(): Promise<void>;
  /** Stops forwarding events and ends the server. */
  close(): void;
}

/** Options for {@link openLabPage}. */
export interface LabPageOptions {
  hostname?: string;
  port?: number;
  /** Called when the lab waits at a step (e.g. to say so on the terminal). */
  onWait?: (step: StepInfo) => void;
}

function slim(e: CnilabEvent): CnilabEvent {
  // a check's reads are shown as one line: their output stays in the lab's own report
  return e.type === "command:end" && e.purpose === "read" ? { ...e, stdout: "", stderr: "" } : e;
}

/** Starts the UI server for a lab run (a child process: see child.ts) and forwards the lab's events to it. */
export async function openLabPage(opts: LabPageOptions = {}): Promise<LabPage> {
  const child = spawn(BUN, [CHILD, opts.hostname ?? "127.0.0.1", String(opts.port ?? 0)], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const send = (msg: ToChild) => {
    if (child.stdin?.writable) child.stdin.write(JSON.stringify(msg) + "\n");
  };
  const answers: StepAnswer[] = [];
  let wake: (() => void) | undefined;
  const url = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on("line", (raw) => {
      let msg: FromChild;
      try {
        msg = JSON.parse(raw) as FromChild;
      } catch {
        return;
      }
      if ("url" in msg) resolve(msg.url);
      else if ("error" in msg) reject(new Error(msg.error));
      else if ("answer" in msg) {
        answers.push(msg.answer);
        wake?.();
      }
    });
    child.on("exit", (code) => reject(new Error(`the UI server exited (${code}) before it listened`)));
    child.on("error", reject);
  });
  const nextAnswer = async (): Promise<StepAnswer> => {
    while (answers.length === 0) await new Promise<void>((r) => (wake = r));
    return answers.shift()!;
  };
  const unsubscribe = subscribe((e) => send({ lab: slim(e) }));
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    unsubscribe();
    child.stdin?.end();
  };
  return {
    url,
    controller: {
      quitReason: () => "Quit on the page",
      async next(step) {
        // an early Quit (pressed while a step ran) answers the next question at once
        if (answers.length === 0) {
          send({ waiting: { index: step.index, total: step.count, title: step.title } });
          opts.onWait?.(step);
        }
        return await nextAnswer();
      },
    },
    async waitForQuit() {
      send({ waiting: { index: -1, total: 0, title: "", ended: true } });
      let onSignal: () => void = () => {};
      const signalled = new Promise<void>((r) => (onSignal = r));
      process.once("SIGINT", onSignal);
      process.once("SIGTERM", onSignal);
      try {
        await Promise.race([
          (async () => {
            while ((await nextAnswer()) !== "quit");
          })(),
          signalled,
        ]);
      } finally {
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
      }
    },
    close,
  };
}
