/**
 * The sandbox runtime on real namespaces: RunPodSandbox pins a netns that holds the pod address; the holder
 * is `pause`, cheap, reaps zombies and exits on SIGTERM/SIGINT; containers share network, IPC and UTS;
 * a restarted container finds the same address; removal leaves nothing, even after kill -9 of the holder.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, readlinkSync } from "node:fs";
import process from "node:process";
import { addr } from "../../lib/iproute2/mod.ts";
import { processAlive } from "../../lib/ownership/mod.ts";
import { run } from "../../lib/shell/mod.ts";
import {
  CNILAB_PLUGIN_DIR,
  containerLogs,
  execSync,
  holderRssKiB,
  isMountPoint,
  parsePodManifest,
  podSandboxStatus,
  readState,
  removePodSandbox,
  runPod,
  runPodSandbox,
  type SandboxState,
  startContainer,
  stopContainer,
} from "../../lib/sandbox/mod.ts";
import {
  childrenOf,
  eventually,
  hostVethOf,
  leftoversOf,
  nsInode,
  podName,
  removePods,
  reservationsOf,
  seedPodYaml,
  zombieChildren,
} from "./helpers.ts";

/** Both plugin sets run the default network: cnilab's (built by `npm run build`) and the reference ones. */
const PLUGIN_SETS = ["cnilab", "reference"] as const;

test("cnilab's plugins are built (npm run build), so both plugin sets are tested", () => {
  expect(existsSync(`${CNILAB_PLUGIN_DIR}/cnilab-bridge`)).toBe(true);
  expect(existsSync(`${CNILAB_PLUGIN_DIR}/cnilab-host-local`)).toBe(true);
});

const made: string[] = [];
afterEach(async () => {
  await removePods(made.splice(0));
});

function name(): string {
  const n = podName();
  made.push(n);
  return n;
}

async function ping(ip: string): Promise<boolean> {
  return (await run(["ping", "-c", "1", "-W", "2", ip], { check: false, purpose: "read" })).code === 0;
}

describe("RunPodSandbox", () => {
  for (const plugins of PLUGIN_SETS) {
    test(`pins a cni-<uuid> netns that holds the pod's address, reachable from the host (${plugins} plugins)`, async () => {
      const s = await runPodSandbox({ name: name() }, { plugins });
      expect(readFileSync(`${s.network.confDir}/10-cnilab.conflist`, "utf8")).toContain(
        plugins === "cnilab" ? '"type": "cnilab-bridge"' : '"type": "bridge"',
      );
      expect(s.phase).toBe("ready");
      expect(s.netns.path).toMatch(
        /^\/var\/run\/netns\/cni-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
      );
      expect(isMountPoint(s.netns.path)).toBe(true);
      const inside = await addr.list({ netns: s.netns.name, dev: "eth0", family: 4 });
      expect(inside.map((a) => a.cidr)).toEqual(s.status?.ips ?? ["missing"]);
      expect(s.status?.ip).toMatch(/^10\.89\./);
      const lo = await addr.list({ netns: s.netns.name, dev: "lo", family: 4 });
      expect(lo.map((a) => a.cidr)).toEqual(["127.0.0.1/8"]);
      expect(await ping(s.status?.ip as string)).toBe(true);
      expect(s.timings.map((t) => t.step)).toEqual(["netns", "cni-add", "holder", "sandbox-ready"]);
      expect(reservationsOf(s.id).length).toBe(1);
    });
  }

  test("the holder is pause, owns the pinned netns and new IPC/UTS namespaces, and costs ≤ 1 MiB", async () => {
    const n = name();
    const s = await runPodSandbox({ name: n });
    const pid = s.holder?.pid as number;
    expect(readFileSync(`/proc/${pid}/comm`, "utf8").trim()).toBe("pause");
    expect(nsInode(`/proc/${pid}/ns/net`)).toBe(nsInode(s.netns.path));
    expect(readlinkSync(`/proc/${pid}/ns/ipc`)).not.toBe(readlinkSync("/proc/self/ns/ipc"));
    expect(readlinkSync(`/proc/${pid}/ns/uts`)).not.toBe(readlinkSync("/proc/self/ns/uts"));
    expect((await run(["nsenter", `--target=${pid}`, "--uts", "hostname"])).stdout.trim()).toBe(n);
    expect(readFileSync(`/proc/${pid}/environ`, "utf8")).toContain(`CNILAB_OWNER=${s.ownerId}`);
    const rss = holderRssKiB(s.holder!);
    expect(rss).toBeGreaterThan(0);
    expect(rss).toBeLessThanOrEqual(1024);
  });

  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    test(`the holder exits on ${signal}; the pinned netns and address survive it`, async () => {
      const s = await runPodSandbox({ name: name() });
      const h = s.holder!;
      process.kill(h.pid, signal);
      expect(await eventually(() => !processAlive(h.pid, h.start), 3000)).toBe(true);
      expect(podSandboxStatus(s.id).phase).toBe("notready");
      // the bind mount, not the holder, keeps the namespace
      const inside = await addr.list({ netns: s.netns.name, dev: "eth0", family: 4 });
      expect(inside.map((a) => a.cidr)).toEqual(s.status!.ips);
    });
  }

  test("with shareProcessNamespace the holder is PID 1 of the pod and reaps orphaned zombies", async () => {
    const pod = parsePodManifest(seedPodYaml(name(), "\n  shareProcessNamespace: true"));
    const { sandbox } = await runPod(pod);
    const holder = sandbox.holder!;
    expect(holder.launcher).toBeDefined();
    // an orphan: sh starts a background sleep and exits at once, so sleep is re-parented to PID 1 (pause)
    const r = await execSync(sandbox.id, "sidecar", [
      "sh",
      "-c",
      "sleep 1 </dev/null >/dev/null 2>&1 & echo $!",
    ]);
    expect(r.code).toBe(0);
    expect(await eventually(() => childrenOf(holder.pid).some((c) => c.comm === "sleep"), 900)).toBe(true);
    // after sleep exits, pause must have waited for it: no zombie child left
    expect(await eventually(() => !childrenOf(holder.pid).some((c) => c.comm === "sleep"), 4000)).toBe(true);
    expect(zombieChildren(holder.pid)).toEqual([]);
    // the containers see each other's processes (and only the pod's): pause is PID 1
    const ps = await execSync(sandbox.id, "sidecar", ["ps", "-o", "pid,comm"]);
    expect(ps.stdout).toMatch(/^\s*1\s+pause$/m);
    expect(ps.stdout).toMatch(/httpd|busybox/);
    const total = ps.stdout.trim().split("\n").length - 1;
    expect(total).toBeLessThan(20);
  });
});

describe("containers", () => {
  test("share the network (localhost), IPC and UTS of the holder, not the host's", async () => {
    const n = name();
    const { sandbox } = await runPod(parsePodManifest(seedPodYaml(n)));
    // network: the sidecar fetched the web container's page over localhost
    expect(await eventually(() => containerLogs(sandbox.id, "sidecar").includes(`pod default/${n}`), 5000))
      .toBe(
        true,
      );
    // IPC: a message queue made in one container is visible in the other, not on the host
    const mk = await execSync(sandbox.id, "web", ["ipcmk", "-Q"]);
    expect(mk.code).toBe(0);
    const qid = /(\d+)/.exec(mk.stdout)?.[1] as string;
    const other = await execSync(sandbox.id, "sidecar", ["ipcs", "-q", "-i", qid]);
    expect(other.code).toBe(0);
    const host = await run(["ipcs", "-q", "-i", qid], { check: false, purpose: "read" });
    const holderIpc = readlinkSync(`/proc/${sandbox.holder!.pid}/ns/ipc`);
    const webPid = readState(sandbox.id).containers[0].process!.pid;
    expect(readlinkSync(`/proc/${webPid}/ns/ipc`)).toBe(holderIpc);
    expect(host.code !== 0 || !host.stdout.includes(`Message Queue msqid=${qid}`)).toBe(true);
    // UTS: both see the pod's hostname; the host keeps its own
    expect((await execSync(sandbox.id, "web", ["hostname"])).stdout.trim()).toBe(n);
    expect((await execSync(sandbox.id, "sidecar", ["hostname"])).stdout.trim()).toBe(n);
    expect((await run(["hostname"], { purpose: "read" })).stdout.trim()).not.toBe(n);
  });

  test("a stopped and restarted container finds the same pod address and the same holder", async () => {
    const { sandbox } = await runPod(parsePodManifest(seedPodYaml(name())));
    const before = await addr.list({ netns: sandbox.netns.name, dev: "eth0", family: 4 });
    const oldPid = readState(sandbox.id).containers[0].process!.pid;
    await stopContainer(sandbox.id, "web");
    expect(podSandboxStatus(sandbox.id).containers[0].phase).toBe("exited");
    await startContainer(sandbox.id, "web");
    const after = readState(sandbox.id);
    expect(after.containers[0].process!.pid).not.toBe(oldPid);
    expect(after.containers[0].restartCount).toBe(1);
    expect(after.holder!.pid).toBe(sandbox.holder!.pid);
    expect((await addr.list({ netns: sandbox.netns.name, dev: "eth0", family: 4 })).map((a) => a.cidr))
      .toEqual(
        before.map((a) => a.cidr),
      );
    const page = await eventually(
      async () =>
        (await execSync(sandbox.id, "sidecar", ["wget", "-q", "-O-", "localhost:80"])).stdout.includes(
          "Welcome",
        ),
      3000,
    );
    expect(page).toBe(true);
  });
});

describe("RemovePodSandbox", () => {
  async function expectNothingLeft(s: SandboxState, veth: string | undefined) {
    expect(await leftoversOf(s, veth)).toEqual([]);
  }

  for (const plugins of PLUGIN_SETS) {
    test(`leaves nothing: netns, veth, processes, files, IPAM reservation, CNI cache (${plugins} plugins)`, async () => {
      const { sandbox } = await runPod(parsePodManifest(seedPodYaml(name())), { plugins });
      const veth = await hostVethOf(sandbox.netns.name);
      expect(veth).toMatch(/^veth/);
      const full = readState(sandbox.id);
      await removePodSandbox(sandbox.id);
      await expectNothingLeft(full, veth);
    });

    test(`after kill -9 of the holder, remove still cleans up completely (${plugins} plugins)`, async () => {
      const { sandbox } = await runPod(parsePodManifest(seedPodYaml(name())), { plugins });
      const veth = await hostVethOf(sandbox.netns.name);
      const full = readState(sandbox.id);
      process.kill(sandbox.holder!.pid, "SIGKILL");
      expect(await eventually(() => !processAlive(sandbox.holder!.pid, sandbox.holder!.start))).toBe(true);
      await removePodSandbox(sandbox.id);
      await expectNothingLeft(full, veth);
    });
  }

  test("a second sandbox with the same name is refused and the first is untouched", async () => {
    const n = name();
    const first = await runPodSandbox({ name: n });
    await expect(runPodSandbox({ name: n })).rejects.toThrow(/already exists/);
    expect(podSandboxStatus(first.id).phase).toBe("ready");
    expect(processAlive(first.holder!.pid, first.holder!.start)).toBe(true);
  });
});
