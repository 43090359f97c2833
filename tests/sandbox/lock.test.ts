/**
 * Two cnilab processes on one pod at once (`pod stop` and `pod rm`, `pod rm` and `cnilab clean`) are
 * serialised by the pod's lock: afterwards the pod is completely gone — no state file written back after
 * the removal, no journal appended to after it was released — and the later command either did its part
 * or said in one line that the pod is gone.
 *
 * The pod's network is a plugin that takes 1 s to answer (the recording plugin with `sleepMs`), so the
 * second command, started 300 ms after the first, reads the pod while the first is still removing it.
 */
import { afterAll, afterEach, expect, test } from "bun:test";
import { readState, type SandboxState } from "../../lib/sandbox/mod.ts";
import { World } from "../runtime/recorder.ts";
import { cli, hostVethOf, leftoversOf, podName, removePods } from "./helpers.ts";

const made: string[] = [];
const world = new World();
world.plugin("slow-net");
world.writeConf("10-slow.conflist", {
  cniVersion: "1.0.0",
  name: "slow",
  plugins: [{ type: "slow-net", record: { ip: "10.9.0.5/24", sleepMs: 1000 } }],
});
afterEach(async () => {
  await removePods(made.splice(0));
});
afterAll(() => world.cleanup());

const later = <T>(ms: number, fn: () => Promise<T>) =>
  new Promise<T>((resolve, reject) => setTimeout(() => fn().then(resolve, reject), ms));

async function runPod(): Promise<{ name: string; state: SandboxState; veth: string | undefined }> {
  const name = podName();
  made.push(name);
  const file = `${world.dir}/${name}.yaml`;
  await Bun.write(
    file,
    `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\nspec:\n  containers:\n  - name: app\n` +
      `    image: busybox\n    command: ['sleep', '3600']\n`,
  );
  const r = await cli([
    "pod",
    "run",
    file,
    "--json",
    "--conf-dir",
    world.conf,
    "--bin-dir",
    `${world.bin}:/usr/lib/cni`,
  ]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  const state = readState((JSON.parse(r.stdout) as { pod: SandboxState }).pod.id);
  return { name, state, veth: await hostVethOf(state.netns.name) };
}

/** The later command waited for the first, then said in one line (exit 2) that the pod is gone. */
function expectToldGone(r: { code: number; stderr: string }, name: string): void {
  expect(r.stderr.trim()).toBe(
    `cnilab pod: no pod default/${name} any more: another cnilab process removed it`,
  );
  expect(r.code).toBe(2);
}

async function expectGone(name: string, state: SandboxState, veth: string | undefined): Promise<void> {
  expect(await leftoversOf(state, veth)).toEqual([]);
  expect((await cli(["pod", "ls"])).stdout).not.toContain(name);
  expect((await cli(["clean"])).stdout).toContain("nothing to clean");
}

for (const first of ["rm", "stop"] as const) {
  test(
    `pod ${first} first, the other 300 ms later: the pod is gone, nothing half-removed`,
    async () => {
      const { name, state, veth } = await runPod();
      const stopCmd = () => cli(["pod", "stop", name]);
      const rmCmd = () => cli(["pod", "rm", name]);
      const [stop, rm] = first === "rm"
        ? await Promise.all([later(300, stopCmd), rmCmd()])
        : await Promise.all([stopCmd(), later(300, rmCmd)]);
      if (first === "rm") expectToldGone(stop, name);
      else {
        expect(stop.stderr).toBe("");
        expect(stop.stdout).toContain(`pod/${name} stopped`);
      }
      expect(rm.stderr).toBe("");
      expect(rm.code).toBe(0);
      expect(rm.stdout).toContain(`pod/${name} deleted`);
      await expectGone(name, state, veth);
    },
    60_000,
  );
}

for (const first of ["rm", "clean"] as const) {
  test(
    `pod rm and cnilab clean, ${first} first, the other 300 ms later: the pod is gone`,
    async () => {
      const { name, state, veth } = await runPod();
      const rmCmd = () => cli(["pod", "rm", name]);
      const cleanCmd = () => cli(["clean"]);
      const [rm, clean] = first === "rm"
        ? await Promise.all([rmCmd(), later(300, cleanCmd)])
        : await Promise.all([later(300, rmCmd), cleanCmd()]);
      if (first === "clean") expectToldGone(rm, name);
      else {
        expect(rm.stderr).toBe("");
        expect(rm.stdout).toContain(`pod/${name} deleted`);
      }
      expect(clean.stderr).toBe("");
      expect(clean.code).toBe(0);
      await expectGone(name, state, veth);
    },
    60_000,
  );
}
