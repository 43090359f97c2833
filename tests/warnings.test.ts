// Warnings belong to the story: what the runtime reports while a lab runs (its default warning sink,
// the one libcni uses for a failed rollback or a bad cache entry) is shown indented under its step, is
// in the --json report's warnings and in the handout, and nothing is printed raw on stderr. Outside a lab
// run the same warning goes to stderr.
import { afterEach, describe, expect, spyOn, test } from "bun:test";
import { runLab } from "../lib/lab/mod.ts";
import { Transcript } from "../lib/lab/transcript.ts";
import { commandLog, terminalView } from "../lib/lab/views.ts";
import { warnToStderr } from "../lib/runtime/conf.ts";

const stderr = spyOn(console, "error");
afterEach(() => stderr.mockClear());

const lab = {
  id: "warning-lab",
  section: "0.0",
  title: "A lab whose runtime warns",
  summary: "",
  init: () => ({}),
  steps: [
    { title: "quiet", mirrors: "-", narration: "nothing to say", run: () => Promise.resolve() },
    {
      title: "noisy",
      mirrors: "-",
      narration: "the runtime warns",
      run: () => {
        warnToStderr("rollback after failed ADD: plugin exited 1");
        return Promise.resolve();
      },
    },
  ],
};

describe("a warning while a lab runs", () => {
  test("terminal: indented under its step; the report and the handout have it; stderr: nothing", async () => {
    const lines: string[] = [];
    const stop = terminalView((l) => lines.push(...l.split("\n")), { color: false, width: 80 });
    const log = commandLog();
    const transcript = new Transcript();
    try {
      const report = await runLab(lab, { handleSignals: false });
      expect(report.ok).toBe(true);
    } finally {
      stop();
      log.stop();
    }
    const md = transcript.finish();
    const at = lines.indexOf("  warning: rollback after failed ADD: plugin exited 1");
    expect(at).toBeGreaterThan(lines.findIndex((l) => l.startsWith("▸ Step 2 · noisy")));
    expect(at).toBeLessThan(lines.findIndex((l) => l.startsWith("▸ Teardown")));
    expect(log.warnings).toEqual(["rollback after failed ADD: plugin exited 1"]);
    expect(md).toContain("> warning: rollback after failed ADD: plugin exited 1");
    expect(md.indexOf("> warning:")).toBeGreaterThan(md.indexOf("## Step 2. noisy"));
    expect(stderr).not.toHaveBeenCalled();
  });

  test("outside a lab run (nobody listens) it is a line on stderr", () => {
    warnToStderr("skipping something");
    expect(stderr).toHaveBeenCalledWith("warning: skipping something");
  });
});
