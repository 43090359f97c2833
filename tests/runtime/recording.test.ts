/**
 * What the runtime passes to plugins, asserted with the recording plugin (as libcni's own tests do with
 * their fake plugin): environment, stdin, prevResult chaining, runtimeConfig filtering, DEL order, the
 * cache, CHECK/STATUS/GC, version negotiation, and the failure paths (error, crash, hang, missing plugin).
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import {
  chmodSync,
  closeSync,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import {
  CniConfig,
  CniNetworks,
  CniRuntimeError,
  type NetworkConfigList,
  parseConfList,
  type RuntimeConf,
} from "../../lib/runtime/mod.ts";
import { withContainerLock } from "../../lib/runtime/lock.ts";
import { alive, type Call, hex, World } from "./recorder.ts";

let world: World;
let ns: { name: string; path: string };

beforeEach(async () => {
  world = new World();
  ns = await world.netns();
});
afterEach(async () => {
  await world.cleanup();
});

function runtime(opts: { timeoutMs?: number } = {}): CniConfig {
  return new CniConfig({
    binDirs: [join(world.dir, "empty"), world.bin],
    cacheDir: world.cache,
    lockDir: world.locks,
    timeoutMs: opts.timeoutMs ?? 30_000,
    onWarning: () => {},
  });
}

/** A three-plugin chain of recording plugins; extra keys per plugin. */
function chain(
  version = "1.0.0",
  extra: Record<string, unknown>[] = [{}, {}, {}],
  top: Record<string, unknown> = {},
) {
  const plugins = extra.map((e, i) => {
    const type = `rec-${"abc"[i]}`;
    world.plugin(type);
    return { type, ...e };
  });
  return parseConfList(JSON.stringify({ cniVersion: version, name: `trtnet-${hex()}`, ...top, plugins }));
}

function rt(overrides: Partial<RuntimeConf> = {}): RuntimeConf {
  return {
    containerId: `ctr-${hex(4)}`,
    netns: ns.path,
    ifName: "eth0",
    args: [["IgnoreUnknown", "1"], ["K8S_POD_NAME", "web"]],
    ...overrides,
  };
}

const byCommand = (calls: Call[], command: string) => calls.filter((c) => c.command === command);

function cacheFile(list: NetworkConfigList, r: RuntimeConf): string {
  return join(world.cache, "results", `${list.name}-${r.containerId}-${r.ifName}`);
}

describe("ADD", () => {
  test("each plugin gets the CNI_* environment, the list's name and version, and its own config", async () => {
    const list = chain("1.0.0", [{ cniVersion: "0.1.0", name: "mine", color: "red" }, {}, {}]);
    const r = rt();
    await runtime().addNetworkList(list, r);
    const adds = byCommand(world.calls(), "ADD");
    expect(adds.map((c) => c.plugin)).toEqual(["rec-a", "rec-b", "rec-c"]);
    for (const c of adds) {
      expect(c.env).toEqual({
        CNI_COMMAND: "ADD",
        CNI_CONTAINERID: r.containerId,
        CNI_NETNS: ns.path,
        CNI_IFNAME: "eth0",
        CNI_ARGS: "IgnoreUnknown=1;K8S_POD_NAME=web",
        CNI_PATH: `${join(world.dir, "empty")}:${world.bin}`,
      });
      expect(c.stdin.name).toBe(list.name);
      expect(c.stdin.cniVersion).toBe("1.0.0");
    }
    expect(adds[0].stdin.color).toBe("red"); // the plugin's own keys are kept
  });

  test("prevResult: never on the first plugin, then the previous plugin's result", async () => {
    const list = chain("1.0.0", [{ record: { ip: "10.9.0.5/24" } }, { record: { ip: "fd00::5/64" } }, {}]);
    const result = await runtime().addNetworkList(list, rt());
    const adds = byCommand(world.calls(), "ADD");
    expect("prevResult" in adds[0].stdin).toBe(false);
    expect(adds[1].stdin.prevResult).toEqual(adds[0].result);
    expect(adds[2].stdin.prevResult).toEqual(adds[1].result);
    expect(result).toEqual(adds[2].result as never);
    expect(result.ips?.map((i) => i.address)).toEqual(["10.9.0.5/24", "fd00::5/64"]);
  });

  test("runtimeConfig holds only the capabilities a plugin declares and the runtime supplies", async () => {
    const list = chain("1.0.0", [
      { capabilities: { portMappings: true, bandwidth: false } },
      { capabilities: { mac: true } },
      {},
    ]);
    const portMappings = [{ hostPort: 8080, containerPort: 80, protocol: "tcp" }];
    await runtime().addNetworkList(
      list,
      rt({ capabilityArgs: { portMappings, bandwidth: { ingressRate: 1 }, ips: ["10.1.1.1/24"] } }),
    );
    const adds = byCommand(world.calls(), "ADD");
    expect(adds[0].stdin.runtimeConfig).toEqual({ portMappings });
    expect("runtimeConfig" in adds[1].stdin).toBe(false); // declares mac, but no mac was supplied
    expect("runtimeConfig" in adds[2].stdin).toBe(false); // declares nothing
  });

  test("the final result is cached in libcni's cniCacheV1 format, mode 0600, after the whole chain", async () => {
    const list = chain("1.0.0", [{ record: { ip: "10.9.0.7/24" } }, {}, {}]);
    const r = rt({ capabilityArgs: { portMappings: [] } });
    const result = await runtime().addNetworkList(list, r);
    const file = cacheFile(list, r);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const text = readFileSync(file, "utf8");
    const cached = JSON.parse(text);
    expect(Object.keys(cached)).toEqual([
      "kind",
      "containerId",
      "config",
      "ifName",
      "networkName",
      "netns",
      "cniArgs",
      "capabilityArgs",
      "result",
    ]);
    expect(cached.kind).toBe("cniCacheV1");
    expect(cached.containerId).toBe(r.containerId);
    expect(Buffer.from(cached.config, "base64").toString()).toBe(list.bytes);
    expect(cached.ifName).toBe("eth0");
    expect(cached.networkName).toBe(list.name);
    expect(cached.netns).toBe(ns.path);
    expect(cached.cniArgs).toEqual([["IgnoreUnknown", "1"], ["K8S_POD_NAME", "web"]]);
    expect(cached.capabilityArgs).toEqual({ portMappings: [] });
    expect(cached.result).toEqual(result);
    // Go marshals libcni's map-valued result with sorted keys, nested objects too
    expect(Object.keys(cached.result)).toEqual(["cniVersion", "dns", "interfaces", "ips", "routes"]);
    expect(Object.keys(cached.result.ips[0])).toEqual(["address", "interface"]);
    expect(readdirSync(join(world.cache, "results"))).toEqual([`${list.name}-${r.containerId}-eth0`]); // no temp files
  });

  test("by default the cache lives in libcni's /var/lib/cni/results", async () => {
    const list = chain("1.0.0", [{}]);
    const r = rt();
    const file = `/var/lib/cni/results/${list.name}-${r.containerId}-eth0`;
    // what existed before, so the test leaves /var/lib/cni exactly as it found it
    const existed = ["/var/lib/cni", "/var/lib/cni/results"].filter((d) => existsSync(d));
    const cni = new CniConfig({ binDirs: [world.bin], lockDir: world.locks });
    try {
      await cni.addNetworkList(list, r);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      await cni.delNetworkList(list, r);
      expect(existsSync(file)).toBe(false);
    } finally {
      rmSync(file, { force: true });
      for (const dir of ["/var/lib/cni/results", "/var/lib/cni"]) {
        if (existed.includes(dir)) continue;
        try {
          rmdirSync(dir);
        } catch {
          // not empty: another test's files live there now; leave them
        }
      }
    }
  });

  test("a second ADD of a live attachment is refused before any plugin runs; the first stays intact", async () => {
    const list = chain("1.0.0", [{}, {}]);
    const r = rt();
    const cni = runtime();
    await cni.addNetworkList(list, r);
    const before = readFileSync(cacheFile(list, r), "utf8");
    world.resetCalls();
    const error = await cni.addNetworkList(list, r).catch((e) => e);
    expect(error.message).toContain(`already attached to network "${list.name}" as eth0`);
    expect(world.calls()).toEqual([]); // in particular no rollback DEL of the first attachment
    expect(readFileSync(cacheFile(list, r), "utf8")).toBe(before);
  });

  test("a plugin error mid-chain: earlier plugins and the failing one get DEL in reverse, nothing cached", async () => {
    const list = chain("1.0.0", [{ record: { ip: "10.9.0.8/24" } }, {}, {
      record: { failOn: "ADD", failCode: 117 },
    }]);
    const r = rt();
    const error = await runtime().addNetworkList(list, r).catch((e) => e);
    expect(error).toBeInstanceOf(CniRuntimeError);
    expect(error.code).toBe(117);
    expect(error.message).toContain('type="rec-c"');
    expect(error.message).toContain("recording plugin told to fail on ADD");
    const calls = world.calls();
    expect(calls.map((c) => `${c.command} ${c.plugin}`)).toEqual([
      "ADD rec-a",
      "ADD rec-b",
      "ADD rec-c",
      "DEL rec-c",
      "DEL rec-b",
      "DEL rec-a",
    ]);
    for (const del of byCommand(calls, "DEL")) {
      expect(del.env.CNI_CONTAINERID).toBe(r.containerId);
      expect(del.env.CNI_IFNAME).toBe("eth0");
      expect("prevResult" in del.stdin).toBe(false);
    }
    expect(existsSync(cacheFile(list, r))).toBe(false);
  });

  test("a plugin that crashes mid-chain: its stderr in the error, rollback in reverse, nothing cached", async () => {
    const list = chain("1.0.0", [{}, { record: { crashOn: "ADD" } }, {}]);
    const r = rt();
    const error = await runtime().addNetworkList(list, r).catch((e) => e);
    expect(error).toBeInstanceOf(CniRuntimeError);
    expect(error.message).toContain("panic: recording plugin rec-b crashed on ADD");
    expect(world.calls().map((c) => `${c.command} ${c.plugin}`)).toEqual([
      "ADD rec-a",
      "ADD rec-b",
      "DEL rec-b",
      "DEL rec-a",
    ]);
    expect(existsSync(cacheFile(list, r))).toBe(false);
  });

  test("a plugin that hangs is killed at the timeout, then the attachment gets DEL", async () => {
    const list = chain("1.0.0", [{}, { record: { hangOn: "ADD" } }]);
    const r = rt();
    const error = await runtime({ timeoutMs: 2_000 }).addNetworkList(list, r).catch((e) => e);
    expect(error).toBeInstanceOf(CniRuntimeError);
    expect(error.timedOut).toBe(true);
    expect(error.message).toContain("timed out after 2000 ms");
    const calls = world.calls();
    expect(calls.map((c) => `${c.command} ${c.plugin} ${c.outcome}`)).toEqual([
      "ADD rec-a ok",
      "ADD rec-b hang",
      "DEL rec-b ok",
      "DEL rec-a ok",
    ]);
    expect(alive(calls[1].pid)).toBe(false); // the hung plugin is gone
    expect(existsSync(cacheFile(list, r))).toBe(false);
  });

  test("a plugin not found: the error names the dirs searched and no plugin runs", async () => {
    const list = chain("1.0.0", [{}, {}, {}]);
    const broken = { ...list, plugins: [...list.plugins.slice(0, 2), { type: "no-such-plugin" }] };
    const error = await runtime().addNetworkList(broken, rt()).catch((e) => e);
    expect(error).toBeInstanceOf(CniRuntimeError);
    expect(error.message).toContain(
      `failed to find plugin "no-such-plugin" in path [${join(world.dir, "empty")} ${world.bin}]`,
    );
    expect(world.calls()).toEqual([]);
  });

  test("a plugin type with a slash is refused", async () => {
    const list = chain("1.0.0", [{}]);
    const bad = { ...list, plugins: [{ type: "../bin/rec-a" }] };
    const error = await runtime().addNetworkList(bad, rt()).catch((e) => e);
    expect(error.message).toContain("invalid plugin name");
    expect(world.calls()).toEqual([]);
  });

  test("invalid container ID, interface name or network name is refused before any plugin runs", async () => {
    const list = chain("1.0.0", [{}]);
    const cni = runtime();
    for (
      const bad of [
        rt({ containerId: "../evil" }),
        rt({ ifName: "a-very-long-ifname0" }),
        rt({ ifName: "eth/0" }),
      ]
    ) {
      const error = await cni.addNetworkList(list, bad).catch((e) => e);
      expect(error).toBeInstanceOf(CniRuntimeError);
    }
    const badName = { ...list, name: "bad name" };
    expect((await cni.addNetworkList(badName, rt()).catch((e) => e)).message).toContain("network name");
    expect(world.calls()).toEqual([]);
  });

  test('an executable being written ("text file busy") is retried until it can run', async () => {
    const list = chain("1.0.0", [{}]);
    const path = join(world.bin, "rec-a");
    // hold the plugin open for writing while the runtime tries to exec it
    const script = readFileSync(path, "utf8");
    const fd = openSync(path, "w");
    writeSync(fd, script);
    chmodSync(path, 0o755);
    const cni = new CniConfig({
      binDirs: [world.bin],
      cacheDir: world.cache,
      lockDir: world.locks,
      textBusyRetryMs: 200,
    });
    const pending = cni.addNetworkList(list, rt());
    await new Promise((resolve) => setTimeout(resolve, 500));
    const closedAt = Date.now();
    closeSync(fd);
    await pending;
    const adds = byCommand(world.calls(), "ADD");
    expect(adds.length).toBe(1);
    expect(adds[0].startedAt).toBeGreaterThanOrEqual(closedAt); // it ran only once the file was complete
  });
});

describe("DEL", () => {
  test("runs the chain in reverse, every plugin getting the cached result as prevResult; removes the cache", async () => {
    const list = chain("1.0.0", [{ record: { ip: "10.9.1.5/24" } }, {}, {}]);
    const r = rt();
    const cni = runtime();
    const result = await cni.addNetworkList(list, r);
    world.resetCalls();
    await cni.delNetworkList(list, r);
    const dels = world.calls();
    expect(dels.map((c) => `${c.command} ${c.plugin}`)).toEqual(["DEL rec-c", "DEL rec-b", "DEL rec-a"]);
    for (const d of dels) {
      expect(d.stdin.prevResult).toEqual(result);
      expect(d.env.CNI_ARGS).toBe("IgnoreUnknown=1;K8S_POD_NAME=web");
    }
    expect(existsSync(cacheFile(list, r))).toBe(false);
  });

  test("a failing DEL keeps the cache so DEL can be retried; DEL without cache sends no prevResult", async () => {
    const list = chain("1.0.0", [{}, { record: { failOn: "DEL" } }]);
    const r = rt();
    const cni = runtime();
    await cni.addNetworkList(list, r);
    const error = await cni.delNetworkList(list, r).catch((e) => e);
    expect(error.message).toContain("failed (delete)");
    expect(existsSync(cacheFile(list, r))).toBe(true);
    world.resetCalls();
    const fresh = rt();
    await cni.delNetworkList(chain("1.0.0", [{}, {}]), fresh);
    for (const d of world.calls()) expect("prevResult" in d.stdin).toBe(false);
  });

  test("0.4.0 lists get the cached result converted to their version (ips[].version)", async () => {
    const list = chain("0.4.0", [{ record: { ip: "10.9.2.5/24" } }, {}]);
    const r = rt();
    const cni = runtime();
    await cni.addNetworkList(list, r);
    world.resetCalls();
    await cni.delNetworkList(list, r);
    const prev = world.calls()[0].stdin.prevResult as { cniVersion: string; ips: { version: string }[] };
    expect(prev.cniVersion).toBe("0.4.0");
    expect(prev.ips[0].version).toBe("4");
  });
});

describe("CHECK", () => {
  test("runs the chain in order with the cached result as prevResult", async () => {
    const list = chain("1.0.0", [{ record: { ip: "10.9.3.5/24" } }, {}, {}]);
    const r = rt();
    const cni = runtime();
    const result = await cni.addNetworkList(list, r);
    world.resetCalls();
    await cni.checkNetworkList(list, r);
    const checks = world.calls();
    expect(checks.map((c) => `${c.command} ${c.plugin}`)).toEqual([
      "CHECK rec-a",
      "CHECK rec-b",
      "CHECK rec-c",
    ]);
    for (const c of checks) expect(c.stdin.prevResult).toEqual(result);
  });

  test("needs a previous ADD: without a cached result it fails and runs nothing", async () => {
    const list = chain("1.0.0", [{}]);
    const error = await runtime().checkNetworkList(list, rt()).catch((e) => e);
    expect(error.message).toContain("CHECK needs a previous ADD");
    expect(world.calls()).toEqual([]);
  });

  test("disableCheck: no plugin is called", async () => {
    const list = chain("1.0.0", [{ record: { failOn: "CHECK" } }], { disableCheck: true });
    const r = rt();
    const cni = runtime();
    await cni.addNetworkList(list, r);
    world.resetCalls();
    await cni.checkNetworkList(list, r);
    expect(world.calls()).toEqual([]);
  });

  test("a 0.3.1 list has no CHECK", async () => {
    const list = chain("0.3.1", [{}]);
    const error = await runtime().checkNetworkList(list, rt()).catch((e) => e);
    expect(error.message).toContain('configuration version "0.3.1" does not support the CHECK command');
    expect(world.calls()).toEqual([]);
  });

  test("a failing CHECK reports the plugin's error code", async () => {
    const list = chain("1.0.0", [{}, { record: { failOn: "CHECK", failCode: 121 } }]);
    const r = rt();
    const cni = runtime();
    await cni.addNetworkList(list, r);
    const error = await cni.checkNetworkList(list, r).catch((e) => e);
    expect(error.code).toBe(121);
    expect(error.plugin).toBe("rec-b");
  });
});

describe("STATUS", () => {
  test("1.1.0: every plugin in order, without container variables; the first failure is returned", async () => {
    const list = chain("1.1.0", [{}, {}, {}]);
    await runtime().getStatusNetworkList(list);
    const calls = world.calls();
    expect(calls.map((c) => `${c.command} ${c.plugin}`)).toEqual([
      "STATUS rec-a",
      "STATUS rec-b",
      "STATUS rec-c",
    ]);
    expect(calls[0].env.CNI_CONTAINERID).toBe("");
    expect(calls[0].env.CNI_NETNS).toBe("");
    world.resetCalls();
    const failing = chain("1.1.0", [{}, { record: { statusCode: 50 } }, {}]);
    const error = await runtime().getStatusNetworkList(failing).catch((e) => e);
    expect(error.code).toBe(50);
    expect(world.calls().map((c) => c.plugin)).toEqual(["rec-a", "rec-b"]);
  });

  test("older lists are ready without asking the plugins", async () => {
    await runtime().getStatusNetworkList(chain("1.0.0", [{}]));
    expect(world.calls()).toEqual([]);
  });
});

describe("GC", () => {
  test("DELs every cached attachment not in the valid list, then GC to each plugin with the valid list", async () => {
    const list = chain("1.1.0", [{ record: { ip: "10.9.4.5/24" } }, {}]);
    const cni = runtime();
    const [keep, drop1, drop2] = [rt(), rt(), rt({ ifName: "net1" })];
    for (const r of [keep, drop1, drop2]) await cni.addNetworkList(list, r);
    // another network's attachment is not this GC's business
    const other = chain("1.1.0", [{}]);
    const otherRt = rt();
    await cni.addNetworkList(other, otherRt);
    world.resetCalls();
    const valid = [{ containerID: keep.containerId, ifname: "eth0" }];
    await cni.gcNetworkList(list, valid);
    const calls = world.calls();
    const dels = byCommand(calls, "DEL");
    expect(new Set(dels.map((c) => `${c.env.CNI_CONTAINERID}/${c.env.CNI_IFNAME}`))).toEqual(
      new Set([`${drop1.containerId}/eth0`, `${drop2.containerId}/net1`]),
    );
    expect(dels.every((d) => d.stdin.prevResult !== undefined)).toBe(true);
    const gcs = byCommand(calls, "GC");
    expect(gcs.map((c) => c.plugin)).toEqual(["rec-a", "rec-b"]);
    for (const g of gcs) {
      expect(g.stdin["cni.dev/valid-attachments"]).toEqual(valid);
      expect(g.env.CNI_CONTAINERID).toBe("");
    }
    expect(readdirSync(join(world.cache, "results")).sort()).toEqual(
      [`${list.name}-${keep.containerId}-eth0`, `${other.name}-${otherRt.containerId}-eth0`].sort(),
    );
  });

  test("disableGC: nothing is deleted and no plugin is called", async () => {
    const list = chain("1.1.0", [{}], { disableGC: true });
    const cni = runtime();
    const r = rt();
    await cni.addNetworkList(list, r);
    world.resetCalls();
    await cni.gcNetworkList(list, []);
    expect(world.calls()).toEqual([]);
    expect(existsSync(cacheFile(list, r))).toBe(true);
  });

  test("a 1.0.0 list: stale attachments are DELed, but plugins get no GC", async () => {
    const list = chain("1.0.0", [{}]);
    const cni = runtime();
    const r = rt();
    await cni.addNetworkList(list, r);
    world.resetCalls();
    await cni.gcNetworkList(list, []);
    expect(world.calls().map((c) => c.command)).toEqual(["DEL"]);
    expect(existsSync(cacheFile(list, r))).toBe(false);
  });
});

describe("version negotiation", () => {
  test("the highest of cniVersion and cniVersions that the runtime supports is sent", async () => {
    const list = chain("1.0.0", [{}], { cniVersions: ["0.4.0", "1.1.0", "2.0.0"] });
    expect(list.cniVersion).toBe("1.1.0");
    await runtime().addNetworkList(list, rt());
    expect(world.calls()[0].stdin.cniVersion).toBe("1.1.0");
  });

  test("a list offering no supported version is refused with the versions named", () => {
    expect(() => parseConfList(JSON.stringify({ cniVersion: "9.9.9", name: "x", plugins: [{ type: "a" }] })))
      .toThrow(/no supported cniVersion: the config offers "9.9.9"/);
  });

  test("VERSION of a plugin and validation of a list against it", async () => {
    world.plugin("rec-old", { versions: ["0.3.1"] });
    const cni = runtime();
    expect((await cni.versionInfo("rec-old")).supportedVersions).toEqual(["0.3.1"]);
    const list = parseConfList(
      JSON.stringify({ cniVersion: "1.0.0", name: "v", plugins: [{ type: "rec-old" }] }),
    );
    const error = await cni.validateNetworkList(list).catch((e) => e);
    expect(error.message).toContain('plugin rec-old does not support config version "1.0.0"');
  });
});

describe("operations on one container never overlap", () => {
  test("in one process: concurrent ADDs and DELs on one container run one after another", async () => {
    const list = chain("1.0.0", [{ record: { sleepMs: 300 } }]);
    const cni = runtime();
    const r = rt();
    await Promise.all([
      cni.addNetworkList(list, r),
      cni.delNetworkList(list, r),
      cni.addNetworkList(list, { ...r, ifName: "eth1" }),
    ]);
    const calls = world.calls().sort((a, b) => a.startedAt - b.startedAt);
    expect(calls.length).toBe(3);
    for (let i = 1; i < calls.length; i++) {
      expect(calls[i].startedAt).toBeGreaterThanOrEqual(calls[i - 1].endedAt);
    }
    expect(existsSync(world.locks)).toBe(false); // the lock dir it created is gone again
  });

  test("the lock dir goes away when the last holder leaves, even if it did not create it", async () => {
    const hold = (id: string, ms: number) =>
      withContainerLock(world.locks, id, () => new Promise<void>((resolve) => setTimeout(resolve, ms)));
    const first = hold("ctr-first", 200); // creates the dir
    await new Promise((resolve) => setTimeout(resolve, 50));
    const second = hold("ctr-second", 400); // finds it, leaves last
    await first;
    expect(readdirSync(world.locks)).toEqual(["ctr-second.lock"]);
    await second;
    expect(existsSync(world.locks)).toBe(false);
  });

  test("across processes: two `cnilab cni add` for one netns run one after another", async () => {
    const list = {
      cniVersion: "1.0.0",
      name: `trtnet-${hex()}`,
      plugins: [{ type: "rec-a", record: { sleepMs: 400 } }],
    };
    world.plugin("rec-a");
    world.writeConf("10-rec.conflist", list);
    const env = { ...process.env, NETCONFPATH: world.conf, CNI_PATH: world.bin };
    const start = (ifname: string) =>
      Bun.spawn([
        `${import.meta.dir}/../../bin/cnilab`,
        "cni",
        "add",
        list.name,
        ns.path,
        "--cache-dir",
        world.cache,
        "-i",
        ifname,
      ], {
        env,
        stdout: "pipe",
        stderr: "pipe",
      });
    const procs = [start("eth0"), start("eth1")];
    const codes = await Promise.all(procs.map((p) => p.exited));
    expect(codes).toEqual([0, 0]);
    const calls = world.calls().sort((a, b) => a.startedAt - b.startedAt);
    expect(calls.length).toBe(2);
    expect(calls[0].env.CNI_CONTAINERID).toBe(calls[1].env.CNI_CONTAINERID);
    expect(calls[1].startedAt).toBeGreaterThanOrEqual(calls[0].endedAt);
  });
});

describe("CniNetworks (go-cni facade)", () => {
  function facade(extra: Record<string, unknown>[]) {
    const lists = extra.map((e, i) => {
      const type = `rec-${"xyz"[i]}`;
      world.plugin(type);
      return parseConfList(
        JSON.stringify({ cniVersion: "1.0.0", name: `trtnet-${hex()}`, plugins: [{ type, ...e }] }),
      );
    });
    return {
      lists,
      cni: CniNetworks.fromLists(lists, {
        binDirs: [world.bin],
        cacheDir: world.cache,
        lockDir: world.locks,
        loopback: false,
        onWarning: () => {},
      }),
    };
  }

  test("networks become eth0, eth1; labels become CNI_ARGS with IgnoreUnknown first; results are folded", async () => {
    const { cni, lists } = facade([{ record: { ip: "10.9.5.5/24" } }, { record: { ip: "10.9.6.5/24" } }]);
    const id = `ctr-${hex(4)}`;
    const res = await cni.setup(id, ns.path, { args: { K8S_POD_NAME: "web", IgnoreUnknown: "1" } });
    expect(res.interfaces.eth0.ipConfigs).toEqual([{ ip: "10.9.5.5", address: "10.9.5.5/24" }]);
    expect(res.interfaces.eth1.ipConfigs).toEqual([{ ip: "10.9.6.5", address: "10.9.6.5/24" }]);
    expect(res.networks.map((n) => `${n.ifName} ${n.name}`)).toEqual([
      `eth0 ${lists[0].name}`,
      `eth1 ${lists[1].name}`,
    ]);
    const adds = byCommand(world.calls(), "ADD");
    expect(adds.map((c) => `${c.plugin} ${c.env.CNI_IFNAME}`).sort()).toEqual(["rec-x eth0", "rec-y eth1"]);
    for (const c of adds) expect(c.env.CNI_ARGS).toBe("IgnoreUnknown=1;K8S_POD_NAME=web");
  });

  test("one network failing: the networks that succeeded are removed again, nothing stays cached", async () => {
    const { cni } = facade([{ record: { ip: "10.9.7.5/24" } }, { record: { failOn: "ADD" } }]);
    const id = `ctr-${hex(4)}`;
    const error = await cni.setup(id, ns.path).catch((e) => e);
    expect(error.plugin).toBe("rec-y");
    const calls = world.calls().map((c) => `${c.command} ${c.plugin}`);
    expect(calls).toContain("DEL rec-x");
    expect(calls).toContain("DEL rec-y");
    expect(existsSync(join(world.cache, "results")) ? readdirSync(join(world.cache, "results")) : []).toEqual(
      [],
    );
  });

  test("a result whose ip points at a missing interface is rejected and the sandbox torn down", async () => {
    const { cni } = facade([{
      record: { rawResult: { cniVersion: "1.0.0", ips: [{ address: "10.9.8.5/24", interface: 4 }] } },
    }]);
    const error = await cni.setup(`ctr-${hex(4)}`, ns.path).catch((e) => e);
    expect(error.message).toContain("points at interface 4");
    expect(world.calls().map((c) => c.command)).toEqual(["ADD", "DEL"]);
    expect(readdirSync(join(world.cache, "results"))).toEqual([]);
  });
});
