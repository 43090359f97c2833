// `cnilab run --step` driven through a real pseudo-terminal (a private tmux server), as a presenter
// uses it: Enter runs a step, r shows it again, q and Ctrl-C at a prompt stop the lab (verified teardown,
// exit 130), and under --json stdout stays pure JSON while the prompts go to the terminal.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { findLab } from "../labs/mod.ts";
import { sleep } from "../lib/ownership/mod.ts";
import { CNILAB, hostSnapshot } from "./helpers.ts";

const dir = mkdtempSync("/tmp/cnilab-pty-");
const socket = `${dir}/tmux.sock`;

function tmux(...args: string[]): string {
  const r = Bun.spawnSync(["tmux", "-S", socket, ...args], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`tmux ${args.join(" ")}: ${r.stderr.toString().trim()}`);
  return r.stdout.toString();
}

/** The pane's text with its history, wrapped lines joined (what the presenter saw, as one text). */
function screen(session: string): string {
  return tmux("capture-pane", "-p", "-J", "-S", "-", "-t", session);
}

/** Lines the terminal had to wrap: tmux marks them, and -J joins them back. */
function wrappedLines(session: string): number {
  const raw = tmux("capture-pane", "-p", "-S", "-", "-t", session).split("\n").length;
  const joined = screen(session).split("\n").length;
  return raw - joined;
}

/** Polls the pane until `seen` holds (the lab is slow or fast: this waits for the screen, not a time). */
async function until(session: string, seen: (text: string) => boolean, what: string): Promise<string> {
  for (let i = 0; i < 600; i++) {
    const text = screen(session);
    if (seen(text)) return text;
    await sleep(100);
  }
  throw new Error(`never saw ${what}; the screen:\n${screen(session)}`);
}

/** The PIDs of the processes under a pane's shell (cnilab, while it runs). */
function children(session: string): number[] {
  const pane = Number(tmux("display-message", "-p", "-t", session, "#{pane_pid}").trim());
  const out: number[] = [];
  for (const entry of readdirSync("/proc").filter((e) => /^\d+$/.test(e))) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pane) out.push(Number(entry));
    } catch {
      // gone while we looked
    }
  }
  return out;
}

/** Starts `cnilab <args>` in an 80x24 terminal; its exit status is written to a file when it ends. */
function start(session: string, args: string, redirect = ""): { exitFile: string } {
  const exitFile = `${dir}/${session}.exit`;
  tmux(
    "new-session",
    "-d",
    "-x",
    "80",
    "-y",
    "24",
    "-s",
    session,
    `env NO_COLOR=1 COLUMNS=80 ${CNILAB} ${args} ${redirect}; echo $? > ${exitFile}; sleep 600`,
  );
  return { exitFile };
}

async function exitStatus(exitFile: string): Promise<number> {
  for (let i = 0; i < 600 && !existsSync(exitFile); i++) await sleep(100);
  return Number(readFileSync(exitFile, "utf8").trim());
}

beforeAll(() => {
  // a session that keeps the private server up, and history enough for `run all` whole
  tmux("new-session", "-d", "-s", "keep", "sleep 3600");
  tmux("set-option", "-g", "history-limit", "100000");
});

afterAll(() => {
  try {
    tmux("kill-server");
  } catch {
    // no server left
  }
  rmSync(dir, { recursive: true, force: true });
});

const prompt = (n: number, of: number) => `[step ${n} of ${of}] Enter: run · r: repeat · q: quit`;

describe("--step in a terminal", () => {
  const steps = findLab("2.5")!.steps;

  test("Enter runs each step after its introduction; r shows it again; the lab passes and exits 0", async () => {
    const before = await hostSnapshot();
    const { exitFile } = start("enter", "run 2.5 --step");
    // step 1's title, what it mirrors and its narration are on screen before anything runs
    let text = await until("enter", (t) => t.includes(prompt(1, steps)), "the first prompt");
    const running = children("enter");
    expect(running.length).toBe(1); // cnilab, waiting at its prompt
    expect(text).toContain("▸ Step 1 · ");
    expect(text).toContain("[2.5 ");
    expect(text).not.toContain("$ ip -batch");
    tmux("send-keys", "-t", "enter", "r");
    text = await until("enter", (t) => t.split("▸ Step 1 · ").length === 3, "step 1 shown again");
    expect(text).not.toContain("$ ip -batch");
    for (let n = 1; n <= steps; n++) {
      await until("enter", (t) => t.includes(prompt(n, steps)), `prompt ${n}`);
      tmux("send-keys", "-t", "enter", "Enter");
    }
    expect(await exitStatus(exitFile)).toBe(0);
    text = screen("enter");
    expect(text).toContain("✓ passed");
    expect(wrappedLines("enter")).toBe(0);
    expect(running.filter((pid) => existsSync(`/proc/${pid}`))).toEqual([]); // cnilab is gone
    expect(await hostSnapshot()).toEqual(before);
  });

  test("Enter through `run all --step` at 80x24: every lab passes, no line is wrapped", async () => {
    const before = await hostSnapshot();
    const { exitFile } = start("all", "run all --step");
    let answered = 0;
    const headers = (t: string) => t.split("▸ Step ").length - 1;
    while (!existsSync(exitFile)) {
      const text = screen("all");
      if (text.includes("Enter: run · r: repeat · q: quit") && headers(text) > answered) {
        tmux("send-keys", "-t", "all", "Enter");
        answered++; // the next prompt comes after the next step's header
      } else await sleep(100);
    }
    expect(await exitStatus(exitFile)).toBe(0);
    // one prompt per step of every lab (without --keep the deletion steps run too)
    const labs = ["2.1", "2.2", "2.3", "2.4", "2.5"].map((s) => findLab(s)!);
    expect(answered).toBe(labs.reduce((n, l) => n + l.steps, 0));
    expect(screen("all")).toMatch(/2\.5 network-namespace-lifecycle +✓ passed/);
    expect(wrappedLines("all")).toBe(0);
    expect(await hostSnapshot()).toEqual(before);
  });

  for (const [key, reason] of [["q", "q at the prompt"], ["C-c", "Ctrl-C at the prompt"]] as const) {
    test(`${key} at the third prompt: verified teardown, exit 130, nothing left`, async () => {
      const before = await hostSnapshot();
      const session = `quit-${key.replace("-", "")}`;
      const { exitFile } = start(session, "run 2.5 --step");
      let running: number[] = [];
      for (let n = 1; n <= 2; n++) {
        await until(session, (t) => t.includes(prompt(n, steps)), `prompt ${n}`);
        if (n === 1) running = children(session);
        tmux("send-keys", "-t", session, "Enter");
      }
      expect(running.length).toBe(1);
      await until(session, (t) => t.includes(prompt(3, steps)), "prompt 3");
      tmux("send-keys", "-t", session, key);
      expect(await exitStatus(exitFile)).toBe(130);
      const text = screen(session);
      expect(text).toContain(`interrupted at step 3 of ${steps} (${reason}); teardown verified`);
      expect(text).toContain("✓ teardown left nothing behind");
      expect(running.filter((pid) => existsSync(`/proc/${pid}`))).toEqual([]);
      expect(await hostSnapshot()).toEqual(before);
    });
  }

  test("--step --json: prompts on the terminal, stdout is one JSON report", async () => {
    const before = await hostSnapshot();
    const out = `${dir}/report.json`;
    const { exitFile } = start("json", "run 2.5 --step --json", `> ${out}`);
    for (let n = 1; n <= steps; n++) {
      const text = await until("json", (t) => t.includes(prompt(n, steps)), `prompt ${n}`);
      // under --json the terminal gets the step's introduction too (stdout has none)
      expect(text).toContain(`▸ Step ${n} · `);
      tmux("send-keys", "-t", "json", "Enter");
    }
    expect(await exitStatus(exitFile)).toBe(0);
    const report = JSON.parse(readFileSync(out, "utf8")) as { ok: boolean; labs: { steps: unknown[] }[] };
    expect(report.ok).toBe(true);
    expect(report.labs[0].steps.length).toBe(steps);
    expect(await hostSnapshot()).toEqual(before);
  });
});
