/**
 * Helpers for the sandbox tests: pod names that cannot collide (`tsbx-` + random hex), manifests, reading
 * the kernel's view of a pod, and "what is left of this pod" for the cleanup assertions.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { link } from "../../lib/iproute2/mod.ts";
import { markedProcesses, processAlive, STATE_DIR } from "../../lib/ownership/mod.ts";
import { run } from "../../lib/shell/mod.ts";
import {
  DEFAULT_NETWORK,
  isMountPoint,
  listStates,
  removePodSandbox,
  type SandboxState,
} from "../../lib/sandbox/mod.ts";
import { hex } from "../helpers.ts";

export { cli, CNILAB, hex, ROOT } from "../helpers.ts";

/** A pod name for this test run. */
export function podName(): string {
  return `tsbx-${hex(4)}`;
}

/** The chapter's multi-container pod under another name. */
export function seedPodYaml(name: string, extra = ""): string {
  return `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
spec:${extra}
  containers:
  - name: web
    image: nginx:1.21
    ports:
    - containerPort: 80
  - name: sidecar
    image: busybox
    command: ['sh', '-c', 'while true; do wget -q -O- localhost:80; sleep 1; done']
`;
}

/** Removes every sandbox these tests made (names starting with the given prefix), even half-made ones. */
export async function removePods(names: string[]): Promise<void> {
  for (const s of listStates()) {
    if (names.includes(s.name)) {
      try {
        await removePodSandbox(s.id);
      } catch {
        // already gone
      }
    }
  }
}

/** The host-side veth of a pod's eth0 (via the peer ifindex the kernel reports inside the pod). */
export async function hostVethOf(netnsName: string): Promise<string | undefined> {
  const eth0 = await link.get("eth0", { netns: netnsName });
  if (!eth0?.peerIndex) return undefined;
  return (await link.list()).find((l) => l.index === eth0.peerIndex)?.name;
}

/** Inode of a namespace file (two files with the same inode are the same namespace). */
export function nsInode(path: string): number {
  return statSync(path).ino;
}

/** Host-local reservations holding this container ID. */
export function reservationsOf(id: string): string[] {
  const dir = `${DEFAULT_NETWORK.ipamDataDir}/${DEFAULT_NETWORK.name}`;
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => {
    try {
      return readFileSync(`${dir}/${f}`, "utf8").startsWith(id);
    } catch {
      return false;
    }
  });
}

/** Children of a process that are zombies. */
export function zombieChildren(pid: number): number[] {
  const out: number[] = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (f[0] === "Z" && Number(f[1]) === pid) out.push(Number(e));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** Children of a process (any state), with their command names. */
export function childrenOf(pid: number): { pid: number; comm: string }[] {
  const out: { pid: number; comm: string }[] = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(f[1]) === pid) {
        out.push({ pid: Number(e), comm: stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")) });
      }
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** Everything of a pod that could be left behind; empty when the pod is completely gone. */
export async function leftoversOf(s: SandboxState, hostVeth: string | undefined): Promise<string[]> {
  const left: string[] = [];
  if (existsSync(s.netns.path)) left.push(`netns file ${s.netns.path}`);
  if (isMountPoint(s.netns.path)) left.push(`netns mount ${s.netns.path}`);
  if (hostVeth && (await link.get(hostVeth))) left.push(`host veth ${hostVeth}`);
  if (s.holder && processAlive(s.holder.pid, s.holder.start)) left.push(`holder ${s.holder.pid}`);
  for (const c of s.containers) {
    if (c.process && processAlive(c.process.pid, c.process.start)) {
      left.push(`container ${c.name} ${c.process.pid}`);
    }
  }
  for (const p of markedProcesses(s.ownerId)) left.push(`marked process ${p.pid}`);
  if (existsSync(`${STATE_DIR}/sandboxes/${s.id}.json`)) left.push("state file");
  if (existsSync(s.dir)) left.push(`sandbox dir ${s.dir}`);
  if (existsSync(`${STATE_DIR}/sandboxes/${s.namespace}_${s.name}.name`)) left.push("name claim");
  if (existsSync(`${STATE_DIR}/owners/${s.ownerId}.jsonl`)) left.push("ownership journal");
  for (const r of reservationsOf(s.id)) left.push(`IPAM reservation ${r}`);
  const cache = await run(["sh", "-c", `ls /var/lib/cni/results 2>/dev/null | grep -F ${s.id} || true`], {
    purpose: "read",
  });
  if (cache.stdout.trim()) left.push(`CNI cache ${cache.stdout.trim()}`);
  return left;
}

/** Polls until `probe` is true (or the time is up); returns the last result. */
export async function eventually(
  probe: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return await probe();
}
