/**
 * `cnilab pod` as a user runs it: the chapter's manifest, unmodified; kubectl-like listing; logs showing
 * the page fetched over localhost; exec; refusals that create nothing; kill -9 mid-run, then `cnilab clean`.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { netns } from "../../lib/iproute2/mod.ts";
import { processAlive, STATE_DIR } from "../../lib/ownership/mod.ts";
import { claimPath, DEFAULT_NETWORK, readState, type SandboxState } from "../../lib/sandbox/mod.ts";
import { cli, CNILAB, eventually, leftoversOf, podName, removePods, ROOT, seedPodYaml } from "./helpers.ts";

/** The chapter's manifest, line for line (ch02 "Multi-Container Pod Networking"). */
const CHAPTER_MANIFEST = [
  "# Example: Multi-container pod sharing network namespace",
  "apiVersion: v1",
  "kind: Pod",
  "metadata:",
  "  name: multi-container-pod",
  "spec:",
  "  containers:",
  "  - name: web",
  "    image: nginx:1.21",
  "    ports:",
  "    - containerPort: 80",
  "  - name: sidecar",
  "    image: busybox",
  "    command: ['sh', '-c', 'while true; do wget -q -O- localhost:80; sleep 5; done']",
  "    # Can access web on localhost because they share network namespace!",
].join("\n") + "\n";

const made: string[] = [];
const tmp = mkdtempSync("/tmp/tsbx-");
afterEach(async () => {
  await removePods(made.splice(0));
});

function manifest(text: string): string {
  const file = `${tmp}/${Math.random().toString(16).slice(2)}.yaml`;
  writeFileSync(file, text);
  return file;
}

function owners(): string[] {
  return existsSync(`${STATE_DIR}/owners`) ? readdirSync(`${STATE_DIR}/owners`).sort() : [];
}

function bridgePorts(): string[] {
  const dir = `/sys/class/net/${DEFAULT_NETWORK.bridge}/brif`;
  return existsSync(dir) ? readdirSync(dir) : [];
}

describe("cnilab pod", () => {
  test("runs the chapter's multi-container pod unmodified; the sidecar's log shows the page", async () => {
    // the example is the chapter's text byte for byte, after a line that keeps `deno fmt` off it
    const example = readFileSync(`${ROOT}/examples/multi-container-pod.yaml`, "utf8");
    expect(example).toBe(CHAPTER_MANIFEST);
    made.push("multi-container-pod");
    const r = await cli(["pod", "run", `${ROOT}/examples/multi-container-pod.yaml`]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/IP 10\.89\.\d+\.\d+\/16/);
    expect(r.stdout).toMatch(/cni-add/);
    const ls = await cli(["pod", "ls"]);
    expect(ls.stdout).toMatch(/^NAMESPACE\s+NAME\s+READY\s+STATUS/m);
    expect(ls.stdout).toMatch(/default\s+multi-container-pod\s+2\/2\s+Running\s+10\.89\.\d+\.\d+\s+\d+s/);
    const json = JSON.parse((await cli(["pod", "ls", "--json"])).stdout) as SandboxState[];
    const pod = json.find((p) => p.name === "multi-container-pod")!;
    expect(pod.containers.map((c) => c.phase)).toEqual(["running", "running"]);
    const sawPage = await eventually(async () => {
      const logs = await cli(["pod", "logs", "multi-container-pod", "-c", "sidecar"]);
      return logs.stdout.includes("Served by pod default/multi-container-pod, container web");
    }, 8000);
    expect(sawPage).toBe(true);
    const exec = await cli([
      "pod",
      "exec",
      "multi-container-pod",
      "-c",
      "sidecar",
      "--",
      "wget",
      "-q",
      "-O-",
      "localhost:80",
    ]);
    expect(exec.code).toBe(0);
    expect(exec.stdout).toContain("Welcome to nginx!");
    const again = await cli(["pod", "run", `${ROOT}/examples/multi-container-pod.yaml`]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("already exists");
    const state = readState(pod.id);
    const rm = await cli(["pod", "rm", "multi-container-pod"]);
    expect(rm.code).toBe(0);
    expect(await leftoversOf(state, undefined)).toEqual([]);
  });

  test("pod stop stops the holder, runs CNI DEL and removes the netns (containerd's StopPodSandbox)", async () => {
    const n = podName();
    made.push(n);
    expect((await cli(["pod", "run", manifest(seedPodYaml(n))])).code).toBe(0);
    const [before] = (JSON.parse((await cli(["pod", "ls", "--json"])).stdout) as SandboxState[]).filter((p) =>
      p.name === n
    );
    const stop = await cli(["pod", "stop", n]);
    expect(stop.code).toBe(0);
    expect(stop.stdout).toContain(`pod/${n} stopped`);
    expect((await cli(["pod", "ls"])).stdout).toMatch(new RegExp(`${n}\\s+0/2\\s+NotReady`));
    expect(await netns.exists(before.netns.name)).toBe(false);
    expect(processAlive(before.holder!.pid, before.holder!.start)).toBe(false);
    const exec = await cli(["pod", "exec", n, "--", "true"]);
    expect(exec.code).toBe(2);
    expect(exec.stderr).toContain("not running");
    expect((await cli(["pod", "rm", n])).code).toBe(0);
    expect(await leftoversOf(before, undefined)).toEqual([]);
  });

  const badManifests: [string, (n: string) => string, RegExp][] = [
    [
      "an unknown image",
      (n) => seedPodYaml(n).replace("image: busybox", "image: postgres:16"),
      /unknown image/,
    ],
    [
      "an unknown field",
      (n) => seedPodYaml(n).replace("  containers:", "  volumes: []\n  containers:"),
      /spec\.volumes/,
    ],
    [
      "a command that is not an applet",
      (n) => seedPodYaml(n).replace("['sh',", "['bash',"),
      /not a busybox applet/,
    ],
    [
      "an invalid port",
      (n) => seedPodYaml(n).replace("containerPort: 80", "containerPort: http"),
      /containerPort/,
    ],
  ];
  for (const [what, text, message] of badManifests) {
    test(`a manifest with ${what} fails before anything is created`, async () => {
      const n = podName();
      made.push(n);
      const nsBefore = (await netns.list()).map((x) => x.name).sort();
      const ownersBefore = owners();
      const r = await cli(["pod", "run", manifest(text(n))]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect((await netns.list()).map((x) => x.name).sort()).toEqual(nsBefore);
      expect(owners()).toEqual(ownersBefore);
      expect(existsSync(claimPath("default", n))).toBe(false);
    });
  }

  for (const point of ["netns pinned", "holder started", "CNI ADD begun"] as const) {
    test(`kill -9 of \`cnilab pod run\` once the ${point}, then \`cnilab clean\`, leaves nothing`, async () => {
      const n = podName();
      made.push(n);
      const child = Bun.spawn([CNILAB, "pod", "run", manifest(seedPodYaml(n))], {
        stdout: "ignore",
        stderr: "ignore",
      });
      let state: SandboxState | undefined;
      const reached = await eventually(() => {
        try {
          const s = readState(readFileSync(claimPath("default", n), "utf8"));
          const journal = readFileSync(`${STATE_DIR}/owners/${s.ownerId}.jsonl`, "utf8");
          const ok = point === "netns pinned"
            ? s.netns.path !== ""
            : point === "holder started"
            ? s.holder !== undefined
            : journal.includes("CNI DEL of sandbox");
          if (ok) {
            child.kill("SIGKILL");
            state = s;
          }
          return ok;
        } catch {
          return false;
        }
      }, 10_000);
      await child.exited;
      expect(reached).toBe(true);
      const s = readState(readFileSync(claimPath("default", n), "utf8"));
      const clean = await cli(["clean"]);
      expect(clean.code).toBe(0);
      expect(await leftoversOf({ ...s, holder: s.holder ?? state?.holder }, undefined)).toEqual([]);
      expect(bridgePorts()).toEqual([]);
    });
  }
});

process.on("exit", () => rmSync(tmp, { recursive: true, force: true }));
