// The lab runner: checks, failing steps, exceptions, --keep and signals, each followed by a verified teardown.
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { subscribe } from "../lib/events/mod.ts";
import { link, netns } from "../lib/iproute2/mod.ts";
import { type Lab, LabNotReady, runLab } from "../lib/lab/mod.ts";
import { CollisionError, Owner, processAlive, processStart } from "../lib/ownership/mod.ts";
import { hex, ROOT } from "./helpers.ts";

const kept: Owner[] = [];
afterEach(async () => {
  for (const o of kept.splice(0)) await o.release();
});

/** A lab that creates a namespace in step 1, then does whatever `second` says. */
function labWith(name: string, second: Lab<{ ran: string[] }>["steps"][number]): Lab<{ ran: string[] }> {
  return {
    id: "test-lab",
    section: "0.1",
    title: "test lab",
    summary: "",
    init: () => ({ ran: [] }),
    steps: [
      {
        title: "make a namespace",
        mirrors: "test",
        narration: "",
        async run(ctx) {
          ctx.state.ran.push("1");
          await ctx.owner.createNetns(name);
        },
        async check(ctx) {
          ctx.expect("namespace exists", await netns.exists(name), true);
        },
      },
      second,
      {
        title: "never reached after a failure",
        mirrors: "test",
        narration: "",
        run(ctx) {
          ctx.state.ran.push("3");
          return Promise.resolve();
        },
      },
    ],
  };
}

describe("runLab", () => {
  test("a passing lab runs every step, then tears down and verifies nothing is left", async () => {
    const name = `trn-${hex()}`;
    const report = await runLab(
      labWith(name, {
        title: "check",
        mirrors: "test",
        narration: "",
        run: () => Promise.resolve(),
        async check(ctx) {
          ctx.expect("lo is in the namespace", (await link.get("lo", { netns: name }))?.name, "lo");
        },
      }),
      { handleSignals: false },
    );
    expect(report.ok).toBe(true);
    expect(report.steps.map((s) => s.ok)).toEqual([true, true, true]);
    expect(report.teardown?.removed).toContain(`netns ${name}`);
    expect(report.teardown?.leftovers).toEqual([]);
    expect(await netns.exists(name)).toBe(false);
  });

  test("a failed check stops the lab, reports expected vs actual, and teardown still runs", async () => {
    const name = `trn-${hex()}`;
    const checks: unknown[] = [];
    const stop = subscribe((e) => e.type === "check" && checks.push(e));
    const report = await runLab(
      labWith(name, {
        title: "wrong expectation",
        mirrors: "test",
        narration: "",
        run: () => Promise.resolve(),
        check(ctx) {
          ctx.expect("an address that is not there", "none", "10.0.0.2/24");
          return Promise.resolve();
        },
      }),
      { handleSignals: false },
    );
    stop();
    expect(report.ok).toBe(false);
    expect(report.steps.length).toBe(2);
    expect(report.steps[1].checks[0]).toEqual({
      name: "an address that is not there",
      ok: false,
      expected: "10.0.0.2/24",
      actual: "none",
    });
    expect(checks).toContainEqual({
      type: "check",
      name: "an address that is not there",
      ok: false,
      expected: "10.0.0.2/24",
      actual: "none",
    });
    expect(await netns.exists(name)).toBe(false);
    expect(report.teardown?.leftovers).toEqual([]);
  });

  test("an exception in a step is reported and teardown still runs", async () => {
    const name = `trn-${hex()}`;
    const report = await runLab(
      labWith(name, {
        title: "throws",
        mirrors: "test",
        narration: "",
        run: () => Promise.reject(new Error("boom")),
      }),
      { handleSignals: false },
    );
    expect(report.ok).toBe(false);
    expect(report.steps[1].error).toBe("boom");
    expect(await netns.exists(name)).toBe(false);
  });

  test("keep leaves everything standing and skips the deletion steps", async () => {
    const name = `trn-${hex()}`;
    let deleted = false;
    const report = await runLab(
      labWith(name, {
        title: "delete",
        mirrors: "test",
        narration: "",
        deletes: true,
        run: () => {
          deleted = true;
          return Promise.resolve();
        },
      }),
      { keep: true, handleSignals: false },
    );
    kept.push(await Owner.open(report.runId));
    expect(report.ok).toBe(true);
    expect(report.kept).toBe(true);
    expect(deleted).toBe(false);
    expect(await netns.exists(name)).toBe(true);
  });

  test("a refusing preflight creates nothing and throws the reason", async () => {
    const lab: Lab<null> = {
      id: "x",
      section: "0.2",
      title: "x",
      summary: "",
      init: () => null,
      preflight: () => Promise.reject(new LabNotReady("the bridge is taken")),
      steps: [],
    };
    await expect(runLab(lab, { handleSignals: false })).rejects.toThrow("the bridge is taken");
  });

  test("createNetns refuses a name someone else already uses, and never deletes it", async () => {
    const name = `trn-${hex()}`;
    await netns.add(name);
    try {
      const report = runLab(
        labWith(name, { title: "-", mirrors: "-", narration: "", run: () => Promise.resolve() }),
        {
          handleSignals: false,
        },
      );
      const r = await report;
      expect(r.ok).toBe(false);
      expect(r.steps[0].error).toMatch(/already exists and was not made by this cnilab run/);
      expect(await netns.exists(name)).toBe(true);
      expect(new CollisionError("x").message).toContain("x already exists");
    } finally {
      await netns.del(name);
    }
  });
});

describe("signals", () => {
  for (const [signal, code] of [["SIGTERM", 143], ["SIGINT", 130]] as const) {
    test(`${signal} in the middle of a step tears the lab down and exits ${code}`, async () => {
      const id = hex();
      const proc = Bun.spawn([`${ROOT}/node_modules/.bin/bun`, `${ROOT}/tests/fixtures/slow-lab.ts`, id], {
        stdout: "pipe",
        stderr: "pipe",
      });
      const reader = proc.stdout.getReader();
      let out = "";
      while (!out.includes("BLOCKING")) {
        const { value, done } = await reader.read();
        if (done) break;
        out += new TextDecoder().decode(value);
      }
      const made = JSON.parse(out.split("\n")[0]) as {
        netns: string;
        link: string;
        pid: number;
        owner: string;
      };
      const start = processStart(made.pid)!;
      expect(await netns.exists(made.netns)).toBe(true);
      expect(processAlive(made.pid, start)).toBe(true);
      proc.kill(signal);
      expect(await proc.exited).toBe(code);
      expect(await netns.exists(made.netns)).toBe(false);
      expect(await link.get(made.link)).toBeUndefined();
      expect(processAlive(made.pid, start)).toBe(false);
      // the journal went with the objects it listed
      expect(existsSync(made.owner)).toBe(false);
    });
  }
});
