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
  registerTeardown,
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

describe("shared directories (like /etc/netns for two pods)", () => {
  test("whichever owner leaves last removes the directory cnilab created, in either order", async () => {
    for (const firstOut of [0, 1]) {
      const top = `/tmp/cnilab-shared-${hex(4)}`;
      const shared = `${top}/netns`;
      const owners = [await Owner.begin("test", "pod a"), await Owner.begin("test", "pod b")];
      try {
        await owners[0].writeFile(`${shared}/a/resolv.conf`, "a");
        await owners[1].writeFile(`${shared}/b/resolv.conf`, "b");
        await owners[firstOut].release();
        // the other pod's file, and so the shared directory, are still there
        expect(readFileSync(`${shared}/${"ab"[1 - firstOut]}/resolv.conf`, "utf8")).toBe("ab"[1 - firstOut]);
        expect(existsSync(`${shared}/${"ab"[firstOut]}`)).toBe(false);
        await owners[1 - firstOut].release();
        expect(existsSync(top)).toBe(false);
      } finally {
        for (const o of owners) await o.release();
        rmSync(top, { recursive: true, force: true });
      }
    }
  });

  test("a directory that was there before is never removed, nor one someone else filled", async () => {
    const before = `/tmp/cnilab-before-${hex(4)}`;
    mkdirSync(before);
    const owner = await Owner.begin("test", "pod");
    try {
      await owner.writeFile(`${before}/made/mine`, "x");
      writeFileSync(`${before}/theirs`, "y");
      const other = await Owner.begin("test", "other");
      await other.mkdir(`${before}/made`);
      writeFileSync(`${before}/made/theirs-too`, "z");
      await owner.release();
      await other.release();
      expect(readFileSync(`${before}/made/theirs-too`, "utf8")).toBe("z");
      expect(existsSync(`${before}/made/mine`)).toBe(false);
      expect(readFileSync(`${before}/theirs`, "utf8")).toBe("y");
    } finally {
      await owner.release();
      rmSync(before, { recursive: true, force: true });
    }
    // nothing of the ledger is left under /run/cnilab for these directories
    expect(existsSync(`${STATE_DIR}/dirs/${encodeURIComponent(`${before}/made`)}.json`)).toBe(false);
  });

  test("cnilab clean removes a shared directory whose users were all killed", async () => {
    const top = `/tmp/cnilab-killed-${hex(4)}`;
    const child = Bun.spawn([
      "node_modules/.bin/bun",
      "-e",
      `import { Owner } from "./lib/ownership/mod.ts";
       const o = await Owner.begin("test", "killed");
       await o.mkdir("${top}/netns");
       console.log("made");
       await new Promise(() => {});`,
    ], { stdout: "pipe" });
    try {
      for await (const chunk of child.stdout) if (new TextDecoder().decode(chunk).includes("made")) break;
      expect(existsSync(`${top}/netns`)).toBe(true);
      child.kill("SIGKILL");
      await child.exited;
      const removed = await cleanAll();
      expect(removed).toContain(`directory ${top}/netns`);
      expect(existsSync(top)).toBe(false);
    } finally {
      child.kill("SIGKILL");
      rmSync(top, { recursive: true, force: true });
    }
  });
});

describe("typed undos (a pod's CNI DEL)", () => {
  test("release calls the registered teardown with the entry's data; unregistered, the entry is kept", async () => {
    const name = `test.teardown-${hex(4)}`;
    const owner = await Owner.begin("test", "teardown");
    const marker = `/tmp/cnilab-teardown-${hex(4)}`;
    try {
      await owner.record({
        kind: "teardown",
        name,
        what: "write the marker",
        data: { path: marker, text: "done" },
      });
      // nothing registered under that name in this process: the entry stays for the next `cnilab clean`
      await owner.release();
      expect(existsSync(marker)).toBe(false);
      expect(readFileSync(owner.journal, "utf8")).toContain(name);
      registerTeardown(name, (data) => {
        const { path, text } = data as { path: string; text: string };
        writeFileSync(path, text);
        return Promise.resolve();
      });
      expect(await owner.release()).toEqual(["write the marker"]);
      expect(readFileSync(marker, "utf8")).toBe("done");
      expect(existsSync(owner.journal)).toBe(false);
    } finally {
      rmSync(marker, { force: true });
      registerTeardown(name, () => Promise.resolve());
      await owner.release();
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
