/**
 * DEL with a stale CNI_NETNS: the container's namespace was deleted (`ip netns del`) and something else now
 * sits at its path — a plain file, or a directory. The spec asks DEL to succeed when the sandbox is gone,
 * so cnilab-bridge releases everything that lives OUTSIDE the namespace: the address reservation, the
 * ipMasq rules and, when a process still holds the namespace (so the veth pair outlived the path), the
 * host end on the bridge. Run inside a host stand-in (standin.ts), like the bad-input suite.
 */
import { afterEach, beforeAll, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { run } from "../../lib/shell/mod.ts";
import { cnilab, CNILAB_BIN, ensurePlugins, removeDir, reservations, tempDir } from "./helpers.ts";
import { makePair, type Pair } from "./standin.ts";

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
beforeAll(ensurePlugins);

async function call(pair: Pair, exe: string, command: string, config: object, ifname = "eth0") {
  const proc = Bun.spawn([pair.inHost(exe)], {
    env: {
      PATH: process.env.PATH!,
      CNI_COMMAND: command,
      CNI_CONTAINERID: "stale-ctr",
      CNI_NETNS: pair.containerPath,
      CNI_IFNAME: ifname,
      CNI_PATH: CNILAB_BIN,
    },
    stdin: new TextEncoder().encode(JSON.stringify(config)),
    stdout: "pipe",
  });
  const stdout = await new Response(proc.stdout).text();
  return { exit: await proc.exited, stdout, json: stdout ? JSON.parse(stdout) : undefined };
}

async function natRules(pair: Pair): Promise<string[]> {
  const r = await run(["ip", "netns", "exec", pair.host, "iptables-save", "-t", "nat"], { purpose: "read" });
  return r.stdout.split("\n").filter((l) => l.includes("CNI-"));
}

async function bridgePorts(pair: Pair, bridge: string): Promise<string[]> {
  const r = await run(["ip", "-n", pair.host, "-j", "link", "show", "master", bridge], { purpose: "read" });
  return (JSON.parse(r.stdout || "[]") as { ifname: string }[]).map((l) => l.ifname);
}

for (const [what, leave] of [["a plain file", "file"], ["a directory", "dir"]] as const) {
  for (const held of [false, true]) {
    test(
      `DEL after the namespace was deleted and ${what} left at its path${
        held ? " (namespace still held by a process)" : ""
      }: everything outside it is released`,
      async () => {
        const dir = tempDir("tstale");
        cleanups.push(() => removeDir(dir));
        const pair = await makePair("tst", dir);
        cleanups.push(() => pair.destroy());
        const config = {
          cniVersion: "1.0.0",
          name: "stalenet",
          type: "cnilab-bridge",
          bridge: "tstbr0",
          isGateway: true,
          ipMasq: true,
          ipam: { type: "cnilab-host-local", subnet: "10.251.7.0/24", dataDir: `${dir}/data` },
        };
        const add = await call(pair, cnilab("bridge"), "ADD", config);
        expect(add.exit).toBe(0);
        expect(Object.keys(reservations(`${dir}/data`, "stalenet"))).toEqual(["10.251.7.2"]);
        expect((await natRules(pair)).length).toBeGreaterThan(0);
        expect(await bridgePorts(pair, "tstbr0")).toHaveLength(1);

        let holder: ReturnType<typeof Bun.spawn> | undefined;
        if (held) {
          holder = Bun.spawn(["ip", "netns", "exec", pair.container, "sleep", "120"]);
          cleanups.push(() => holder?.kill());
          // wait until the holder is inside the namespace
          for (let i = 0; i < 100; i++) {
            const r = await run(["ip", "netns", "pids", pair.container], { purpose: "read", check: false });
            if (r.stdout.trim() !== "") break;
            await Bun.sleep(20);
          }
        }
        await run(["ip", "netns", "del", pair.container]);
        if (leave === "file") writeFileSync(pair.containerPath, "");
        else mkdirSync(pair.containerPath);
        cleanups.push(() => removeDir(pair.containerPath));
        // the veth pair dies with an unheld namespace, and survives while a process holds it; the kernel
        // destroys a namespace asynchronously (a workqueue), so its veth may outlive `ip netns del` briefly
        let ports = await bridgePorts(pair, "tstbr0");
        for (let i = 0; !held && ports.length > 0 && i < 250; i++) {
          await Bun.sleep(20);
          ports = await bridgePorts(pair, "tstbr0");
        }
        expect(ports).toHaveLength(held ? 1 : 0);

        const prev = { ...config, prevResult: add.json };
        for (const attempt of [1, 2]) {
          const del = await call(pair, cnilab("bridge"), "DEL", prev);
          expect([attempt, del.exit, del.stdout]).toEqual([attempt, 0, ""]);
        }
        expect(reservations(`${dir}/data`, "stalenet")).toEqual({});
        expect(await natRules(pair)).toEqual([]);
        expect(await bridgePorts(pair, "tstbr0")).toEqual([]);

        // loopback has nothing outside the namespace: DEL succeeds and touches nothing
        const lo = await call(pair, cnilab("loopback"), "DEL", {
          cniVersion: "1.0.0",
          name: "stalenet",
          type: "cnilab-loopback",
        }, "lo");
        expect([lo.exit, lo.stdout]).toEqual([0, ""]);
      },
      60_000,
    );
  }
}
