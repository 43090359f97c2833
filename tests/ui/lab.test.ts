// `cnilab run <lab> --ui`: the page shows the lab being built, step by step, and with --step its
// Next / Repeat / Quit buttons drive the run while the terminal shows the same. One chromium for the file.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Browser, Page } from "playwright-core";
import { hostSnapshot } from "../helpers.ts";
import { launchBrowser, startCnilab } from "./helpers.ts";

let browser: Browser;

beforeAll(async () => {
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
});

async function open(url: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1600, height: 900 } });
  await page.goto(url);
  return page;
}

describe("cnilab run --ui", () => {
  test("--step: Next runs the step, Repeat shows it again, Quit tears down; the terminal shows the same", async () => {
    const before = await hostSnapshot();
    const run = await startCnilab(["run", "2.5", "--step", "--ui"]);
    try {
      const page = await open(run.url);
      const prompt = page.locator("#step-prompt");
      await prompt.filter({ hasText: /Next: step 1 of \d+/ }).waitFor({ timeout: 15000 });
      expect(await page.locator("#btn-next").isEnabled()).toBe(true);
      // nothing is built before Next
      expect((await hostSnapshot()).netns).toEqual(before.netns);

      await page.getByRole("button", { name: "Next ▸" }).click();
      // step 1 runs in tens of ms and step 2 is introduced at once: the log says whose commands it shows
      await prompt.filter({ hasText: /Next: step 2 of/ }).waitFor({ timeout: 15000 });
      await page.locator("#log-step", { hasText: "What Step 1 · " }).waitFor();
      await expect(page.locator("#step-title").textContent()).resolves.toMatch(/^Step 2 · /);
      // step 1 made the node's bridge: its batch script is on the page, the bridge is drawn
      await expect(page.locator("#commands li").first().textContent()).resolves.toContain(
        "link add name cnilab25 type bridge",
      );
      const checks = page.locator("#checks li");
      expect(await checks.count()).toBeGreaterThan(0);
      expect(await page.locator("#checks li.bad").count()).toBe(0);
      await page.locator('#topology-list li[data-id="host/cnilab25"]').waitFor({ state: "attached" });

      // Repeat shows the step about to run again (lib/lab's step mode), and asks again
      await page.getByRole("button", { name: "Repeat" }).click();
      await page.locator("#commands li", { hasText: "step 2 shown again" }).waitFor();
      await prompt.filter({ hasText: /Next: step 2 of/ }).waitFor();
      expect(((await hostSnapshot()).netns as string[]).filter((n) => n.startsWith("cni-"))).toEqual([]);

      await page.getByRole("button", { name: "Next ▸" }).click();
      await prompt.filter({ hasText: /Next: step 3 of/ }).waitFor({ timeout: 15000 });
      await page.locator("#log-step", { hasText: "What Step 2 · " }).waitFor();
      const commands = await page.locator("#commands li").allTextContents();
      expect(commands.filter((c) => c.startsWith("$ ip netns add cni-")).length).toBe(2);
      // what step 2 built is in the kernel and on the page
      const made = ((await hostSnapshot()).netns as string[]).filter((n) => n.startsWith("cni-"));
      expect(made.length).toBe(2);
      for (const ns of made) {
        await page.locator(`#topology-list section[data-box="${ns}"]`).waitFor({ state: "attached" });
      }

      await page.getByRole("button", { name: "Quit" }).click();
      await page.locator("#verdict", { hasText: "checks passed" }).waitFor({ timeout: 20000 });
      await prompt.filter({ hasText: "Quit ends the server" }).waitFor();
      // the terminal narrated the same steps and waited for the page
      expect(run.output()).toContain("▸ Step 1 · ");
      expect(run.output()).toContain("▸ Step 2 · ");
      expect(run.output()).toContain("step 2 took");
      expect(run.output()).not.toContain("step 3 took"); // introduced, never run
      expect(run.output()).toContain("interrupted at step 3 of");
      expect(run.output()).toMatch(/waiting for Next \/ Repeat \/ Quit on the page/);
      expect(run.output()).toContain("▸ Teardown");
      await page.getByRole("button", { name: "Quit" }).click();
      expect(await run.proc.exited).toBe(130); // quit at a prompt: verified teardown, exit 130 (lib/lab)
      await page.close();
    } finally {
      await run.stop();
    }
    expect(await hostSnapshot()).toEqual(before);
  });

  test("Ctrl-C while the page asks: the lab tears down and the run ends (exit 130), no second Quit", async () => {
    const before = await hostSnapshot();
    const run = await startCnilab(["run", "2.5", "--step", "--ui"]);
    try {
      const page = await open(run.url);
      const prompt = page.locator("#step-prompt");
      await prompt.filter({ hasText: /Next: step 1 of/ }).waitFor({ timeout: 15000 });
      await page.getByRole("button", { name: "Next ▸" }).click();
      await prompt.filter({ hasText: /Next: step 2 of/ }).waitFor({ timeout: 15000 });
      run.proc.kill("SIGINT");
      const code = await Promise.race([
        run.proc.exited,
        new Promise<string>((r) => setTimeout(() => r("still running after 20 s"), 20000)),
      ]);
      expect(code).toBe(130);
      expect(run.output()).toContain("interrupted at step 2 of");
      expect(run.output()).toContain("▸ Teardown");
      expect(run.output()).not.toContain("the page stays up");
      await page.close();
    } finally {
      await run.stop();
    }
    expect(await hostSnapshot()).toEqual(before);
  });

  test("without --step the page shows each step as it runs, and the verdict", async () => {
    const before = await hostSnapshot();
    const run = await startCnilab(["run", "2.5", "--ui"]);
    try {
      const page = await open(run.url);
      await page.locator("#verdict", { hasText: "✓ passed" }).waitFor({ timeout: 60000 });
      await expect(page.locator("#lab-title").textContent()).resolves.toContain("Lab 2.5");
      await page.locator("#step-prompt", { hasText: "Quit ends the server" }).waitFor();
      await page.getByRole("button", { name: "Quit" }).click();
      expect(await run.proc.exited).toBe(0);
      await page.close();
    } finally {
      await run.stop();
    }
    expect(await hostSnapshot()).toEqual(before);
  });
});
