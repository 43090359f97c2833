// Labs 2.1–2.4: each passes and leaves the host as found; each one's checks fail when the state they check
// is broken mid-lab (proved by breaking it between two steps), and teardown still leaves nothing behind.
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { findLab, LABS } from "../labs/mod.ts";
import { addr, ip, link, netns } from "../lib/iproute2/mod.ts";
import type { LabReport } from "../lib/lab/mod.ts";
import { STATE_DIR } from "../lib/ownership/mod.ts";
import { listPodSandbox } from "../lib/sandbox/mod.ts";
import { cli, hostSnapshot } from "./helpers.ts";

/** The directory of the lab run in progress (there is one at a time in these tests). */
function labRunDir(): string {
  const dirs = readdirSync(STATE_DIR).filter((d) => d.startsWith("lab-"));
  expect(dirs.length).toBe(1);
  return `${STATE_DIR}/${dirs[0]}`;
}

function failedChecks(report: LabReport): string[] {
  return report.steps.flatMap((s) => s.checks).filter((c) => !c.ok).map((c) => c.name);
}

/** Runs a lab and breaks the state right before the step whose title starts with `before`. */
async function breakBefore(id: string, before: string, breakIt: () => Promise<void>): Promise<LabReport> {
  const lab = findLab(id)!;
  let broke = false;
  const report = await lab.run({
    handleSignals: false,
    beforeStep: async (_i, title) => {
      if (!title.startsWith(before)) return;
      await breakIt();
      broke = true;
    },
  });
  expect(broke).toBe(true);
  expect(report.ok).toBe(false);
  expect(report.teardown?.leftovers).toEqual([]);
  return report;
}

describe("every lab", () => {
  test("cnilab run all: every lab passes, in chapter order, and the host is left as found", async () => {
    const before = await hostSnapshot();
    const r = await cli(["run", "all"]);
    expect(r.code).toBe(0);
    const order = LABS.map((l) => r.stdout.indexOf(`] ${l.section} ${l.id}`));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    for (const lab of LABS) {
      // the summary row: LAB RESULT PASSED FAILED TIME
      expect(r.stdout).toMatch(new RegExp(`^${lab.section} ${lab.id} +✓ passed +\\d+ +0 +\\d`, "m"));
    }
    expect(await hostSnapshot()).toEqual(before);
  });
});

describe("checks fail when the state is broken mid-lab", () => {
  test("2.1: a config that sorts first changes the runtime's pick", async () => {
    const report = await breakBefore("2.1", "Which config", () => {
      writeFileSync(
        `${labRunDir()}/net.d/00-intruder.conflist`,
        JSON.stringify({ cniVersion: "1.0.0", name: "intruder", plugins: [{ type: "cnilab-bridge" }] }),
      );
      return Promise.resolve();
    });
    expect(failedChecks(report)).toContain("max_conf_num = 1 picks the first valid config");
  });

  test("2.1: the broken config removed before its step: the node was ready, the pod not refused", async () => {
    const report = await breakBefore("2.1", "A broken config file", () => {
      rmSync(`${labRunDir()}/net.d/05-broken.conflist`);
      return Promise.resolve();
    });
    expect(failedChecks(report)).toEqual(expect.arrayContaining([
      "go-cni stops at the broken file: invalid cni config, nothing loaded",
      "the node's network is not ready: cni plugin not initialized",
      "RunPodSandbox is refused with that message, naming the file",
    ]));
    expect(listPodSandbox().filter((p) => p.name === "lab21-web")).toEqual([]);
    expect(await link.get("cnilab21")).toBeUndefined();
  });

  test("2.5: pod-a's pin removed before the pinned/unpinned step: its namespace dies with its pause", async () => {
    const report = await breakBefore("2.5", "Persistence, exactly", async () => {
      for (const n of await netns.list()) {
        const addrs = await addr.list({ netns: n.name, dev: "eth0", family: 4 }).catch(() => []);
        if (addrs.some((a) => a.local.endsWith(".2"))) await ip(["netns", "delete", n.name]);
      }
    });
    const step = report.steps.at(-1)!;
    expect(step.title).toStartWith("Persistence, exactly");
    expect(step.ok).toBe(false);
  });

  test("2.2: the pod's default route deleted before the STEP 8-11 box", async () => {
    const report = await breakBefore("2.2", "Pod Running", async () => {
      const pod = listPodSandbox().find((p) => p.name === "lab22-multi-container-pod")!;
      await ip(["route", "del", "default"], { netns: pod.netns.name });
    });
    expect(failedChecks(report)).toContain("the pod's default route goes via the bridge's gateway");
  });

  test("2.3: the second network's config removed before max_conf_num = 2", async () => {
    const report = await breakBefore("2.3", "What max_conf_num", () => {
      rmSync(`${labRunDir()}/net.d/20-net-b.conflist`);
      return Promise.resolve();
    });
    expect(failedChecks(report)).toContain("the pod has two interfaces");
  });

  test("2.4: the pod's address removed before the localhost step", async () => {
    const report = await breakBefore("2.4", "Containers share the network", async () => {
      const pod = listPodSandbox().find((p) => p.name === "multi-container-pod")!;
      await ip(["addr", "flush", "dev", "eth0"], { netns: pod.netns.name });
    });
    expect(failedChecks(report)).toContain("web sees eth0 with the pod IP");
    expect(existsSync(`${STATE_DIR}/sandboxes`) ? readdirSync(`${STATE_DIR}/sandboxes`) : []).toEqual([]);
  });
});
