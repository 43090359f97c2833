// The page draws what the kernel has, as it changes: a kept lab 2.5, a veth made and removed by hand, the
// filters, a trace, and a screenshot for people to look at. One chromium for the whole file.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { tmpdir } from "node:os";
import type { Browser, Page } from "playwright-core";
import { cli, hex } from "../helpers.ts";
import { launchBrowser, startCnilab, type UiProcess } from "./helpers.ts";

interface RawLink {
  ifname: string;
  link_netnsid?: number;
  master?: string;
}
function ipJson(args: string[]): unknown[] {
  return JSON.parse(Bun.spawnSync(["ip", "-json", ...args]).stdout.toString() || "[]");
}
function ip(args: string[]): void {
  const r = Bun.spawnSync(["ip", ...args]);
  if (r.exitCode !== 0) throw new Error(`ip ${args.join(" ")}: ${r.stderr}`);
}

/** Where the screenshot goes (CNILAB_UI_SCREENSHOT overrides). */
const SCREENSHOT = process.env.CNILAB_UI_SCREENSHOT ?? `${tmpdir()}/cnilab-ui-lab-2.5.png`;

let ui: UiProcess;
let browser: Browser;
let page: Page;
let pods: { ns: string; id: number }[] = [];
let runId = "";
const handMade = `uit${hex(3)}`;

const list = (sel: string) => page.locator(`#topology-list ${sel}`);
const drawn = () =>
  page.evaluate(() => (globalThis as unknown as { __cnilab: { drawn(): string[] } }).__cnilab.drawn());

beforeAll(async () => {
  const r = await cli(["run", "2.5", "--keep"]);
  expect(r.code).toBe(0);
  runId = r.stdout.match(/\(run ([0-9a-f]+)\)/)![1];
  pods = (ipJson(["netns", "list"]) as { name: string; id: number }[])
    .filter((n) => n.name.startsWith("cni-")).map((n) => ({ ns: n.name, id: n.id }));
  expect(pods.length).toBe(2);
  ui = await startCnilab(["ui", "--port", "0"]);
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1600, height: 900 } });
  await page.goto(ui.url);
  await page.waitForFunction(() =>
    Object.keys((globalThis as unknown as { __cnilab: { laidOutAt: object } }).__cnilab.laidOutAt).length > 0
  );
});

afterAll(async () => {
  Bun.spawnSync(["ip", "link", "del", handMade]);
  await browser?.close();
  await ui?.stop();
  await cli(["clean"]);
});

describe("cnilab ui, the page", () => {
  test("the kept lab's namespaces and veth pairs are on the page, as the kernel has them", async () => {
    const ports = ipJson(["link", "show", "master", "cnilab25"]) as RawLink[];
    expect(ports.length).toBe(2);
    for (const pod of pods) {
      await expect(list(`section[data-box="${pod.ns}"] h3`).textContent()).resolves.toBe(`netns ${pod.ns}`);
      const port = ports.find((p) => p.link_netnsid === pod.id)!;
      const hostEnd = list(`li[data-id="host/${port.ifname}"]`);
      await expect(hostEnd.getAttribute("data-peer")).resolves.toBe(`${pod.ns}/eth0`);
      const podEnd = list(`li[data-id="${pod.ns}/eth0"]`);
      await expect(podEnd.getAttribute("data-peer")).resolves.toBe(`host/${port.ifname}`);
      const addr = (ipJson(["-n", pod.ns, "-4", "addr", "show", "dev", "eth0"]) as {
        addr_info: { local: string; prefixlen: number }[];
      }[])[0].addr_info[0];
      await expect(podEnd.textContent()).resolves.toContain(`${addr.local}/${addr.prefixlen}`);
      // the holder is inside the box
      await expect(list(`section[data-box="${pod.ns}"] p`).first().textContent()).resolves.toMatch(
        /pause \d+/,
      );
      // the port is listed under its bridge, and the graph has the same nodes and the veth edge
      await expect(list(`li[data-id="host/cnilab25"] li[data-id="host/${port.ifname}"]`).count()).resolves
        .toBe(1);
      const ids = await drawn();
      expect(ids).toContain(`box:${pod.ns}`);
      expect(ids).toContain(`${pod.ns}/eth0`);
      expect(ids).toContain(`veth:${[`host/${port.ifname}`, `${pod.ns}/eth0`].sort().join("|")}`);
    }
  });

  test("a veth pair added by hand appears, and disappears when it is removed", async () => {
    ip(["link", "add", handMade, "type", "veth", "peer", "name", `${handMade}p`]);
    const item = list(`li[data-id="host/${handMade}"]`);
    await item.waitFor({ state: "attached", timeout: 10000 });
    await expect(item.textContent()).resolves.toStartWith(`${handMade} (veth)`);
    await list(`li[data-id="host/${handMade}p"]`).waitFor({ state: "attached" });
    expect(await drawn()).toContain(`host/${handMade}`);
    ip(["link", "del", handMade]);
    await item.waitFor({ state: "detached", timeout: 10000 });
    await page.waitForFunction(
      (id) => !(globalThis as unknown as { __cnilab: { drawn(): string[] } }).__cnilab.drawn().includes(id),
      `host/${handMade}`,
    );
  });

  test("filters: pods only leaves out the host's other links; one run shows only that run's objects", async () => {
    ip(["link", "add", handMade, "type", "veth", "peer", "name", `${handMade}p`]);
    await list(`li[data-id="host/${handMade}"]`).waitFor({ state: "attached", timeout: 10000 });
    await page.getByRole("button", { name: "Pods only" }).click();
    await list(`li[data-id="host/${handMade}"]`).waitFor({ state: "detached" });
    await expect(list(`section[data-box]`).count()).resolves.toBe(3); // host and the two pods
    expect(new URL(page.url()).searchParams.get("view")).toBe("pods");
    await page.getByRole("button", { name: "Everything" }).click();
    await list(`li[data-id="host/${handMade}"]`).waitFor({ state: "attached" });
    await page.locator("#run-filter").selectOption(runId);
    await list(`li[data-id="host/${handMade}"]`).waitFor({ state: "detached" });
    for (const pod of pods) await expect(list(`section[data-box="${pod.ns}"]`).count()).resolves.toBe(1);
    expect(new URL(page.url()).searchParams.get("run")).toBe(runId);
    await page.locator("#run-filter").selectOption("");
    ip(["link", "del", handMade]);
  });

  test("a click on a pod's box shows its routes", async () => {
    const where = () =>
      page.evaluate(
        (id) =>
          (globalThis as unknown as { __cnilab: { at(id: string): { x: number; y: number } } }).__cnilab.at(
            id,
          ),
        `${pods[0].ns}/eth0`,
      );
    const title = page.locator("#details h2", { hasText: pods[0].ns });
    // the layout after the last filter may still be moving: click where the node is once it stands still
    for (let attempt = 0; attempt < 10 && !(await title.count()); attempt++) {
      const a = await where();
      await page.waitForTimeout(250);
      const b = await where();
      if (Math.abs(a.x - b.x) + Math.abs(a.y - b.y) > 1) continue;
      await page.mouse.click(b.x, b.y);
      await page.waitForTimeout(200);
    }
    await title.waitFor({ timeout: 5000 });
    const routes = (ipJson(["-n", pods[0].ns, "route", "show"]) as { dst: string }[]).map((r) => r.dst);
    for (const dst of routes) await expect(page.locator("#details").textContent()).resolves.toContain(dst);
  });

  test("a trace is drawn as a highlighted path with per-hop times", async () => {
    const ports = ipJson(["link", "show", "master", "cnilab25"]) as RawLink[];
    const [a, b] = pods;
    const pa = ports.find((p) => p.link_netnsid === a.id)!.ifname;
    const pb = ports.find((p) => p.link_netnsid === b.id)!.ifname;
    const trace = {
      from: a.ns,
      to: b.ns,
      ok: true,
      hops: [
        { ns: a.ns, iface: "eth0", us: 0, direction: "request", what: "sent" },
        { ns: "host", iface: pa, us: 21, direction: "request", what: "into the bridge" },
        { ns: "host", iface: pb, us: 48, direction: "request", what: "forwarded by cnilab25" },
        { ns: b.ns, iface: "eth0", us: 63, direction: "request", what: "delivered" },
      ],
    };
    const r = await fetch(new URL("/api/trace", ui.url), {
      method: "POST",
      headers: {
        "x-cnilab-token": new URL(ui.url).searchParams.get("token")!,
        "content-type": "application/json",
      },
      body: JSON.stringify(trace),
    });
    expect(r.status).toBe(200);
    await page.locator("#trace table").waitFor();
    await expect(page.locator("#trace").textContent()).resolves.toContain("forwarded by cnilab25");
    const traced = await page.evaluate(() =>
      (globalThis as unknown as { __cnilab: { traced(): string[] } }).__cnilab.traced()
    );
    for (const id of [`${a.ns}/eth0`, `host/${pa}`, "host/cnilab25", `host/${pb}`, `${b.ns}/eth0`]) {
      expect(traced).toContain(id);
    }
  });

  test("a screenshot of the page with lab 2.5 kept is written to a file", async () => {
    await page.waitForTimeout(500); // the layout's animation settles
    await page.screenshot({ path: SCREENSHOT });
    const png = new Uint8Array(await Bun.file(SCREENSHOT).arrayBuffer());
    expect([...png.slice(1, 4)]).toEqual([0x50, 0x4e, 0x47]); // "PNG"
    expect(new DataView(png.buffer).getUint32(16)).toBe(1600);
    console.log(`screenshot: ${SCREENSHOT}`);
  });

  test("in the browser: no token → 403, a foreign Host → 403", async () => {
    const other = await browser.newContext(); // no cookie
    const p = await other.newPage();
    const url = new URL(ui.url);
    const noToken = await p.goto(`http://127.0.0.1:${url.port}/`);
    expect(noToken?.status()).toBe(403);
    // a DNS name rebound to 127.0.0.1 (chromium's resolver maps it, see helpers.ts), with the right token
    const rebound = await p.goto(`http://rebind.test:${url.port}/?token=${url.searchParams.get("token")}`);
    expect(rebound?.status()).toBe(403);
    await other.close();
  });
});
