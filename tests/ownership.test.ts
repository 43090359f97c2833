// Ownership: cnilab removes what it made — after a run was abandoned too — and never what it did not make.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { batch, commands, link, netns } from "../lib/iproute2/mod.ts";
import {
  cleanAll,
  Owner,
  processAlive,
  processStart,
  readSysctl,
  setSysctl,
  STATE_DIR,
} from "../lib/ownership/mod.ts";
import { run, spawnDetached } from "../lib/shell/mod.ts";
import { hex } from "./helpers.ts";

describe("cnilab clean", () => {
  test("removes an abandoned run's objects and leaves look-alike decoys untouched", async () => {
    const id = hex(4);
    // decoys: made by "someone else", with names like cnilab's
    const decoys = {
      netns: `cni-${crypto.randomUUID()}`,
      veth: `veth${id}`,
      bridge: `cnilab${id.slice(0, 3)}`,
      aliased: `tdc${id}`,
      dir: `/tmp/cnilab-decoy-${id}`,
    };
    await netns.add(decoys.netns);
    await batch([
      commands.vethAdd(decoys.veth, `${decoys.veth.slice(0, 12)}p`),
      commands.bridgeAdd(decoys.bridge),
      commands.bridgeAdd(decoys.aliased),
      commands.linkAlias(decoys.aliased, "cnilab-lookalike"),
    ]);
    mkdirSync(decoys.dir);
    const decoyPid = await spawnDetached(["sleep", "60"]);
    const decoyStart = processStart(decoyPid)!;
    try {
      // an "abandoned" run: recorded and marked, never released
      const owner = await Owner.begin("test", "abandoned");
      const ours = { netns: `cni-${crypto.randomUUID()}`, bridge: `tob${id}`, file: `${decoys.dir}/ours` };
      await owner.createNetns(ours.netns);
      await owner.record({ kind: "link", name: ours.bridge });
      await batch([commands.bridgeAdd(ours.bridge), commands.linkAlias(ours.bridge, owner.mark)]);
      await owner.writeFile(ours.file, "x");
      const pid = await spawnDetached(["sleep", "60"], { env: owner.env });
      const start = processStart(pid)!;
      // an unrecorded but marked process (as if kill -9 hit between spawn and record)
      const stray = await spawnDetached(["sleep", "60"], { env: owner.env });
      const strayStart = processStart(stray)!;

      const removed = await cleanAll();

      expect(removed).toEqual(
        expect.arrayContaining([`netns ${ours.netns}`, `link ${ours.bridge}`, `file ${ours.file}`]),
      );
      expect(await netns.exists(ours.netns)).toBe(false);
      expect(await link.get(ours.bridge)).toBeUndefined();
      expect(existsSync(ours.file)).toBe(false);
      expect(processAlive(pid, start)).toBe(false);
      expect(processAlive(stray, strayStart)).toBe(false);
      // the decoys survive
      expect(await netns.exists(decoys.netns)).toBe(true);
      expect((await link.get(decoys.veth))?.kind).toBe("veth");
      expect((await link.get(decoys.bridge))?.kind).toBe("bridge");
      expect((await link.get(decoys.aliased))?.alias).toBe("cnilab-lookalike");
      expect(existsSync(decoys.dir)).toBe(true);
      expect(processAlive(decoyPid, decoyStart)).toBe(true);
    } finally {
      process.kill(decoyPid, "SIGKILL");
      await netns.del(decoys.netns);
      for (const l of [decoys.veth, decoys.bridge, decoys.aliased]) {
        await run(["ip", "link", "del", l], { check: false });
      }
      rmSync(decoys.dir, { recursive: true, force: true });
    }
  });

  test("clean removes the empty directories a killed run left under /run/cnilab, and keeps the others", async () => {
    const empty = `${STATE_DIR}/tempty-${hex(4)}`;
    const kept = `${STATE_DIR}/tkept-${hex(4)}`;
    mkdirSync(empty, { recursive: true });
    mkdirSync(kept, { recursive: true });
    writeFileSync(`${kept}/something`, "x");
    try {
      await cleanAll();
      expect(existsSync(empty)).toBe(false);
      expect(existsSync(`${kept}/something`)).toBe(true);
    } finally {
      rmSync(empty, { recursive: true, force: true });
      rmSync(kept, { recursive: true, force: true });
      await cleanAll();
    }
  });

  test("a link someone else made under a recorded name is not removed (its alias is not cnilab's)", async () => {
    const name = `tcl${hex(4)}`;
    const owner = await Owner.begin("test", "collision");
    await owner.record({ kind: "link", name });
    await link.addBridge(name); // made "by someone else": no cnilab alias
    try {
      await owner.release();
      expect((await link.get(name))?.kind).toBe("bridge");
    } finally {
      await link.del(name);
    }
  });

  test("a directory cnilab created is kept when others put files in it", async () => {
    const dir = `/tmp/cnilab-own-${hex(4)}`;
    const owner = await Owner.begin("test", "dir");
    await owner.writeFile(`${dir}/mine`, "x");
    writeFileSync(`${dir}/theirs`, "y");
    try {
      await owner.release();
      expect(existsSync(`${dir}/mine`)).toBe(false);
      expect(readFileSync(`${dir}/theirs`, "utf8")).toBe("y");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("host settings", () => {
  test("a sysctl is restored to its original value when the last owner using it is released", async () => {
    const key = "net.ipv4.ip_forward";
    const original = readSysctl(key);
    const flipped = original === "1" ? "0" : "1";
    const a = await Owner.begin("test", "sysctl-a");
    const b = await Owner.begin("test", "sysctl-b");
    try {
      await setSysctl(a, key, flipped);
      await setSysctl(b, key, flipped);
      expect(readSysctl(key)).toBe(flipped);
      await a.release();
      expect(readSysctl(key)).toBe(flipped); // b still uses it
      await b.release();
      expect(readSysctl(key)).toBe(original);
    } finally {
      await a.release();
      await b.release();
      writeFileSync("/proc/sys/net/ipv4/ip_forward", original);
    }
  });
});

describe("mounts", () => {
  test("a bind mount recorded under /var/run (a symlink to /run) is unmounted and removed", async () => {
    const owner = await Owner.begin("test", "mount");
    const path = `/var/run/netns/tmnt-${hex(4)}`;
    mkdirSync("/var/run/netns", { recursive: true });
    await owner.record({ kind: "mount", path });
    writeFileSync(path, "");
    await run(["unshare", `--net=${path}`, "true"]);
    expect(readFileSync("/proc/self/mountinfo", "utf8")).toContain(path.replace("/var/run", "/run"));
    await owner.release();
    expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(path.replace("/var/run", "/run"));
    expect(existsSync(path)).toBe(false);
  });
});
