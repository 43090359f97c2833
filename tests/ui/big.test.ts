// A big topology (more namespaces than the page lays out with ELK) is drawn in steps: every pod box and every
// veth edge ends up on the graph (lib/ui/page/_layout.ts drawBig), and the list names every namespace.
// The topology is made up (lib/ui/bench.ts, shaped like lab 2.5's): the page is under test, not `ip`.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Browser } from "playwright-core";
import { syntheticReading } from "../../lib/ui/bench.ts";
import { type Live, serveLive } from "../../lib/ui/mod.ts";
import { launchBrowser } from "./helpers.ts";

const PODS = 120;
let browser: Browser;
let live: Live;

beforeAll(async () => {
  const reading = syntheticReading(PODS);
  live = await serveLive({
    port: 0,
    read: () => Promise.resolve(reading),
    notifications: false,
    pollMs: 60000,
  });
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  live?.close();
});

describe("a big topology on the page", () => {
  test(`${PODS} pods: every box and veth edge is drawn, and the list names them all`, async () => {
    const page = await browser.newPage({ viewport: { width: 1600, height: 900 } });
    await page.goto(live.server.url);
    await page.waitForFunction(
      () =>
        (globalThis as unknown as { __cnilab: { layoutMs: Record<number, number> } }).__cnilab.layoutMs[1] !==
          undefined,
      null,
      { timeout: 60000 },
    );
    const drawn = await page.evaluate(() =>
      (globalThis as unknown as { __cnilab: { drawn(): string[] } }).__cnilab.drawn()
    );
    const boxes = drawn.filter((id) => id.startsWith("box:cni-"));
    const veths = drawn.filter((id) => id.startsWith("veth:"));
    expect(boxes.length).toBe(PODS);
    expect(veths.length).toBe(PODS);
    expect(await page.locator("#topology-list section[data-box^='cni-']").count()).toBe(PODS);
    await expect(page.locator("#status").textContent()).resolves.toContain(`${PODS} namespaces`);
    await page.close();
  });
});
