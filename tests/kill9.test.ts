// kill -9 of a running lab (every lab, at every step), then `cnilab clean` (or the next run's automatic clean-up):
// the host must be exactly as it was before the lab started.
import { describe, expect, test } from "bun:test";
import { LABS } from "../labs/mod.ts";
import { cli, CNILAB, hostSnapshot } from "./helpers.ts";

/** Starts the lab and kills it with SIGKILL as soon as step `step` begins (plus a few ms). */
async function killAtStep(step: number, delayMs: number, lab = "2.5"): Promise<string> {
  const proc = Bun.spawn([CNILAB, "run", lab], { env: { ...process.env, NO_COLOR: "1" }, stdout: "pipe" });
  const reader = proc.stdout.getReader();
  let out = "";
  while (!out.includes(`▸ Step ${step} ·`)) {
    const { value, done } = await reader.read();
    if (done) break;
    out += new TextDecoder().decode(value);
  }
  await Bun.sleep(delayMs);
  proc.kill("SIGKILL");
  await proc.exited;
  return out;
}

describe("kill -9 at any step, of every lab", () => {
  for (const lab of LABS) {
    for (let step = 1; step <= lab.steps; step++) {
      test(`${lab.section}: killed in step ${step}, cnilab clean restores the host`, async () => {
        const before = await hostSnapshot();
        const out = await killAtStep(step, (step * 7) % 20, lab.section);
        expect(out).toContain(`▸ Step ${step} ·`);
        const r = await cli(["clean"]);
        expect(r.code).toBe(0);
        expect(await hostSnapshot()).toEqual(before);
      });
    }
  }

  test("the next run cleans up after a killed one by itself and says what it removed", async () => {
    const before = await hostSnapshot();
    await killAtStep(6, 5);
    const r = await cli(["run", "2.5"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      // (wrapped to the terminal's width: 80 columns here)
      /cleaned up after a killed cnilab run \(lab network-namespace-lifecycle, run\s+[0-9a-f]{8}\):[\s\S]*netns\s+cni-/,
    );
    expect(await hostSnapshot()).toEqual(before);
  });
});
