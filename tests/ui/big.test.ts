// A big topology (more namespaces than the page lays out with ELK) is drawn in steps: every pod box and every
// veth edge ends up on the graph (lib/ui/page/_layout.ts drawBig), the list names every namespace, and the
// labels too small to read are left out until a zoom in.
// The topology is made up (lib/ui/bench.ts, shaped like lab 2.5's): the page is under test, not `ip`.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Browser } from "playwright-core";
import { syntheticReading } from "../../lib/ui/bench.ts";
import { type Live, serveLive } from "../../lib/ui/mod.ts";
import { launchBrowser } from "./helpers.ts";

const PODS = 500;
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
  test(`${PODS} pods: every box and veth edge is drawn, the list names them all, zoom in for labels`, async () => {
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
    // zoomed out this far no label could be read, so none is drawn; zooming in brings them back
    const labelled = () =>
      page.evaluate(() =>
        (globalThis as unknown as { __cnilab: { labelled(): number } }).__cnilab.labelled()
      );
    expect(await labelled()).toBe(0);
    await page.mouse.move(800, 450);
    for (let i = 0; i < 12 && await labelled() === 0; i++) {
      await page.mouse.wheel(0, -600);
      await page.waitForTimeout(100);
    }
    expect(await labelled()).toBe(PODS + 2); // the pods, the host and its bridge
    await page.close();
  });
});
