/**
 * Step mode: something decides, before each step, whether to run it, show it again or stop the lab. The
 * runner only knows the {@link StepController} interface; the terminal is one implementation (keys from
 * the controlling terminal, prompt on it, never on stdout), a browser can be another.
 * @module
 */
import { spawn, spawnSync } from "node:child_process";
import { closeSync, openSync, writeSync } from "node:fs";
import { terminalWidth, wrap } from "../text/mod.ts";

/** What to do with the step about to run. */
export type StepAnswer = "run" | "repeat" | "quit";

/** The step a controller is asked about. */
export interface StepInfo {
  lab: string;
  section: string;
  /** 0-based. */
  index: number;
  /** How many steps the lab has. */
  count: number;
  title: string;
  mirrors: string;
  narration: string;
}

/**
 * Decides, before each step, what happens: "run" it, "repeat" (show the step's introduction again, then
 * ask again) or "quit" (stop the lab: verified teardown, exit 130).
 */
export interface StepController {
  /** Asks about a step; `signal` aborts the question (a signal arrived meanwhile). */
  next(step: StepInfo, signal?: AbortSignal): Promise<StepAnswer>;
  /** Why the last "quit" came, for the verdict: e.g. "Ctrl-C at the prompt". */
  quitReason?(): string;
}

/** The controlling terminal, or undefined when the process has none (a pipe, cron, CI). */
export function controllingTerminal(): string | undefined {
  try {
    closeSync(openSync("/dev/tty", "r+"));
    return "/dev/tty";
  } catch {
    return undefined;
  }
}

/** Writes to the controlling terminal. */
function toTty(text: string): void {
  const fd = openSync("/dev/tty", "w");
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
}

function stty(args: string[]): string {
  const r = spawnSync("stty", ["-F", "/dev/tty", ...args], { encoding: "utf8" });
  return (r.stdout ?? "").trim();
}

/** Reads one key from the controlling terminal, without echo, Ctrl-C as a key (not a signal). */
function readKey(signal?: AbortSignal): Promise<string> {
  const saved = stty(["-g"]);
  stty(["-icanon", "-echo", "-isig", "min", "1", "time", "0"]);
  return new Promise((resolve) => {
    // a child blocked in read(2) costs no CPU and is killed when the question is aborted
    const child = spawn("head", ["-c", "1", "/dev/tty"], { stdio: ["ignore", "pipe", "ignore"] });
    let key = "";
    const done = (k: string) => {
      signal?.removeEventListener("abort", onAbort);
      if (saved) stty([saved]);
      resolve(k);
    };
    const onAbort = () => child.kill("SIGKILL");
    signal?.addEventListener("abort", onAbort);
    child.stdout!.on("data", (b: Uint8Array) => (key += new TextDecoder().decode(b)));
    child.on("close", () => done(key));
    child.on("error", () => done(""));
  });
}

/** The prompt shown before each step. */
export const PROMPT = "Enter: run · r: repeat · q: quit";

/**
 * The terminal as a step controller: the prompt and (with `showIntro`, e.g. under --json where stdout
 * carries no narration) the step's introduction go to the controlling terminal; keys come from it.
 */
export class TerminalStepController implements StepController {
  private reason = "q at the prompt";

  constructor(private opts: { showIntro?: boolean; color?: boolean } = {}) {}

  async next(step: StepInfo, signal?: AbortSignal): Promise<StepAnswer> {
    if (this.opts.showIntro) toTty(`${introText(step, terminalWidth())}\n`);
    for (;;) {
      const label = `[step ${step.index + 1} of ${step.count}] ${PROMPT} `;
      toTty(this.opts.color ? `\x1b[2m${label}\x1b[0m` : label);
      const key = await readKey(signal);
      toTty("\r\x1b[K");
      if (signal?.aborted) return "quit";
      if (key === "\r" || key === "\n" || key === " ") return "run";
      if (key === "r" || key === "R") return "repeat";
      if (key === "q" || key === "Q") {
        this.reason = "q at the prompt";
        return "quit";
      }
      if (key === "\x03" || key === "\x04" || key === "") {
        this.reason = key === "\x04" || key === "" ? "end of input at the prompt" : "Ctrl-C at the prompt";
        return "quit";
      }
    }
  }

  quitReason(): string {
    return this.reason;
  }
}

/** A step's introduction as the terminal shows it: title, what it mirrors, the narration wrapped. */
export function introText(step: StepInfo, width: number): string {
  return [
    "",
    wrap(`▸ Step ${step.index + 1} · ${step.title}  [${step.mirrors}]`, width, "", "  "),
    wrap(step.narration, width, "  "),
  ].join("\n");
}
