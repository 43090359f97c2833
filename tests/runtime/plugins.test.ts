/**
 * The runtime with real plugins on real namespaces: Debian's reference plugins (/usr/lib/cni) and, when
 * built (`npm run build` → dist/cni), cnilab's own. What is asserted is what a user would see: the
 * address inside the namespace, a ping between two pods, the interface and the IP reservation that are
 * gone after DEL or after a failed ADD, the result cache, and `cnilab cni` behaving like cnitool.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { addr, link, netns, route } from "../../lib/iproute2/mod.ts";
import { run } from "../../lib/shell/mod.ts";
import { CniNetworks, type CniNetworksOptions, CniRuntimeError } from "../../lib/runtime/mod.ts";
import { alive, hex, REFERENCE_BIN, ROOT, World } from "./recorder.ts";

interface PluginSet {
  label: string;
  binDirs: string[];
  bridge: string;
  ipam: string;
}

const REFERENCE: PluginSet = {
  label: "reference plugins",
  binDirs: [REFERENCE_BIN],
  bridge: "bridge",
  ipam: "host-local",
};
const DIST = `${ROOT}/dist/cni`;
// go-cni's cni-loopback network is type "loopback": found in the reference dir after dist
const CNILAB: PluginSet = {
  label: "cnilab plugins",
  binDirs: [DIST, REFERENCE_BIN],
  bridge: "cnilab-bridge",
  ipam: "cnilab-host-local",
};
const distBuilt = existsSync(`${DIST}/cnilab-bridge`) && existsSync(`${DIST}/cnilab-host-local`);
const buildScript = Boolean(JSON.parse(readFileSync(`${ROOT}/package.json`, "utf8")).scripts?.build);

let world: World;
beforeEach(() => {
  world = new World();
});
afterEach(async () => {
  await world.cleanup();
});

function subnet(): { cidr: string; prefix: string } {
  const third = Math.floor(Math.random() * 250) + 1;
  const second = 216 + Math.floor(Math.random() * 8);
  return { cidr: `10.${second}.${third}.0/24`, prefix: `10.${second}.${third}.` };
}

/** A bridge + host-local list (with extra plugins after them); its subnet and bridge. */
function bridgeList(
  set: PluginSet,
  extra: Record<string, unknown>[] = [],
  top: Record<string, unknown> = {},
) {
  const net = subnet();
  const bridge = world.bridgeName();
  const name = `trtnet-${hex()}`;
  const list = {
    cniVersion: "1.0.0",
    name,
    ...top,
    plugins: [
      {
        type: set.bridge,
        bridge,
        isGateway: false,
        ipam: { type: set.ipam, ranges: [[{ subnet: net.cidr }]], dataDir: world.data },
      },
      ...extra,
    ],
  };
  return { list, name, bridge, net };
}

function load(set: PluginSet, opts: Partial<CniNetworksOptions> = {}): Promise<CniNetworks> {
  return CniNetworks.load({
    binDirs: [world.bin, ...set.binDirs],
    confDir: world.conf,
    cacheDir: world.cache,
    lockDir: world.locks,
    onWarning: () => {},
    ...opts,
  });
}

/** IP reservation files host-local keeps for a network (its bookkeeping files left out). */
function reservations(network: string): string[] {
  const dir = join(world.data, network);
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f !== "lock" && !f.startsWith("last_reserved_ip"));
}

function cacheFiles(): string[] {
  const dir = join(world.cache, "results");
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

async function addresses(ns: string, dev: string): Promise<string[]> {
  return (await addr.list({ netns: ns, family: 4 })).filter((a) => a.dev === dev).map((a) => a.cidr);
}

function mainFlows(set: PluginSet) {
  describe(set.label, () => {
    test("two sandboxes: addresses inside, lo up, they ping each other; remove leaves nothing", async () => {
      const { list, name, net } = bridgeList(set);
      world.writeConf("10-net.conflist", list);
      const cni = await load(set);
      const [a, b] = [await world.netns(), await world.netns()];
      const [idA, idB] = [`trt-a-${hex(4)}`, `trt-b-${hex(4)}`];
      const resA = await cni.setup(idA, a.path, { args: { IgnoreUnknown: "1", K8S_POD_NAME: "a" } });
      // CHECK before a second port joins: the reference bridge's CHECK compares the bridge MAC with the
      // cached result, and a bridge takes a new MAC when a port with a lower one joins (a known quirk)
      await cni.check(idA, a.path);
      const resB = await cni.setup(idB, b.path);
      const ipA = resA.interfaces.eth0.ipConfigs[0].ip;
      const ipB = resB.interfaces.eth0.ipConfigs[0].ip;
      expect(ipA.startsWith(net.prefix)).toBe(true);
      expect(ipA).not.toBe(ipB);
      expect(await addresses(a.name, "eth0")).toEqual([`${ipA}/24`]);
      expect(resA.interfaces.eth0.sandbox).toBe(a.path);
      expect(resA.interfaces.lo.ipConfigs.map((i) => i.address)).toContain("127.0.0.1/8");
      expect((await link.get("lo", { netns: a.name }))?.up).toBe(true);
      expect(resA.networks.map((n) => `${n.ifName} ${n.name}`)).toEqual(["lo cni-loopback", `eth0 ${name}`]);
      const ping = await netns.exec(a.name, ["ping", "-c", "1", "-W", "2", ipB], { check: false });
      expect(ping.code).toBe(0);
      expect(cacheFiles()).toEqual(
        [`cni-loopback-${idA}-lo`, `${name}-${idA}-eth0`, `cni-loopback-${idB}-lo`, `${name}-${idB}-eth0`]
          .sort(),
      );
      expect(reservations(name).sort()).toEqual([ipA, ipB].sort());

      await cni.remove(idA, a.path);
      expect(await link.get("eth0", { netns: a.name })).toBeUndefined();
      expect(reservations(name)).toEqual([ipB]);
      expect(cacheFiles().some((f) => f.includes(idA))).toBe(false);
      await cni.remove(idA, a.path); // again: still fine
      await cni.remove(idB, b.path);
      expect(reservations(name)).toEqual([]);
      expect(cacheFiles()).toEqual([]);
    });

    test("gc with the sandboxes still in use: a stale sandbox's interface, address and cache are removed", async () => {
      const { list, name } = bridgeList(set);
      world.writeConf("10-net.conflist", list);
      const cni = await load(set);
      const [live, stale] = [await world.netns(), await world.netns()];
      const [idLive, idStale] = [`trt-l-${hex(4)}`, `trt-s-${hex(4)}`];
      const ipLive = (await cni.setup(idLive, live.path)).interfaces.eth0.ipConfigs[0].ip;
      await cni.setup(idStale, stale.path);
      await cni.status();
      await cni.gc(cni.attachmentsOf(idLive));
      expect(await link.get("eth0", { netns: stale.name })).toBeUndefined();
      expect(await addresses(live.name, "eth0")).toEqual([`${ipLive}/24`]);
      expect(reservations(name)).toEqual([ipLive]);
      expect(cacheFiles()).toEqual([`cni-loopback-${idLive}-lo`, `${name}-${idLive}-eth0`].sort());
      await cni.remove(idLive, live.path);
    });

    test("max_conf_num 2: two networks become eth0 and eth1 in file order", async () => {
      const first = bridgeList(set);
      const second = bridgeList(set);
      world.writeConf("20-second.conflist", second.list);
      world.writeConf("10-first.conflist", first.list);
      const cni = await load(set, { maxConfNum: 2 });
      const ns = await world.netns();
      const id = `trt-m-${hex(4)}`;
      const res = await cni.setup(id, ns.path);
      expect((await addresses(ns.name, "eth0"))[0].startsWith(first.net.prefix)).toBe(true);
      expect((await addresses(ns.name, "eth1"))[0].startsWith(second.net.prefix)).toBe(true);
      expect(Object.keys(res.interfaces)).toEqual(expect.arrayContaining(["eth0", "eth1", "lo"]));
      await cni.remove(id, ns.path);
      expect(await link.get("eth1", { netns: ns.name })).toBeUndefined();
    });

    test("CHECK notices when the sandbox's address was removed behind the runtime's back", async () => {
      const { list } = bridgeList(set);
      world.writeConf("10-net.conflist", list);
      const cni = await load(set);
      const ns = await world.netns();
      const id = `trt-c-${hex(4)}`;
      const res = await cni.setup(id, ns.path);
      await cni.check(id, ns.path);
      await addr.del("eth0", `${res.interfaces.eth0.ipConfigs[0].ip}/24`, { netns: ns.name });
      const error = await cni.check(id, ns.path).catch((e) => e);
      expect(error).toBeInstanceOf(CniRuntimeError);
      expect(error.op).toBe("check");
      await cni.remove(id, ns.path);
    });

    test("a plugin that hangs after the bridge: killed, the bridge is DELed, the address is released", async () => {
      world.plugin("rec-hang");
      const { list, name } = bridgeList(set, [{ type: "rec-hang", record: { hangOn: "ADD" } }]);
      world.writeConf("10-net.conflist", list);
      const cni = await load(set, { timeoutMs: 3_000 });
      const ns = await world.netns();
      const id = `trt-h-${hex(4)}`;
      const error = await cni.setup(id, ns.path).catch((e) => e);
      expect(error.timedOut).toBe(true);
      expect(await link.get("eth0", { netns: ns.name })).toBeUndefined();
      expect(reservations(name)).toEqual([]);
      expect(cacheFiles()).toEqual([]); // loopback's cache went too: the whole sandbox setup was undone
      const hung = world.calls().find((c) => c.outcome === "hang");
      expect(alive(hung!.pid)).toBe(false);
    });

    test("a plugin that crashes after the bridge: the bridge is DELed, nothing cached, nothing reserved", async () => {
      world.plugin("rec-crash");
      const { list, name } = bridgeList(set, [{ type: "rec-crash", record: { crashOn: "ADD" } }]);
      world.writeConf("10-net.conflist", list);
      const cni = await load(set);
      const ns = await world.netns();
      const error = await cni.setup(`trt-x-${hex(4)}`, ns.path).catch((e) => e);
      expect(error.message).toContain("panic: recording plugin rec-crash crashed on ADD");
      expect(await link.get("eth0", { netns: ns.name })).toBeUndefined();
      expect(reservations(name)).toEqual([]);
      expect(cacheFiles()).toEqual([]);
    });

    test("cnilab cni works like cnitool: add/check/del/gc, CNI_IFNAME, CNI_ARGS, CAP_ARGS, container ID", async () => {
      const { list, name, net } = bridgeList(set);
      list.plugins[0].capabilities = { mac: true };
      world.writeConf("10-net.conflist", list);
      const ns = await world.netns();
      const env = { NETCONFPATH: world.conf, CNI_PATH: set.binDirs.join(":") };
      const cache = ["--cache-dir", world.cache];
      const requested = `${net.prefix}77`;
      const add = await cnilab(["cni", "add", name, ns.path, ...cache], {
        ...env,
        CNI_IFNAME: "net1",
        CNI_ARGS: `IgnoreUnknown=1;IP=${requested}`,
        CAP_ARGS: JSON.stringify({ mac: "02:aa:bb:cc:dd:01" }),
      });
      expect(add.stderr).toBe("");
      expect(add.code).toBe(0);
      const result = JSON.parse(add.stdout);
      expect(result.ips[0].address).toBe(`${requested}/24`);
      expect(await addresses(ns.name, "net1")).toEqual([`${requested}/24`]);
      expect((await link.get("net1", { netns: ns.name }))?.mac).toBe("02:aa:bb:cc:dd:01");
      // cnitool's container ID: sha512 of the netns path, computed independently with sha512sum
      const sum = await run(["sh", "-c", `printf %s '${ns.path}' | sha512sum`], { purpose: "read" });
      const id = `cnitool-${sum.stdout.slice(0, 20)}`;
      expect(cacheFiles()).toEqual([`${name}-${id}-net1`]);
      expect(createHash("sha512").update(ns.path).digest("hex").slice(0, 20)).toBe(sum.stdout.slice(0, 20));

      expect((await cnilab(["cni", "check", name, ns.path, ...cache], { ...env, CNI_IFNAME: "net1" })).code)
        .toBe(0);
      const del = await cnilab(["cni", "del", name, ns.path, ...cache], { ...env, CNI_IFNAME: "net1" });
      expect(del.code).toBe(0);
      expect(await link.get("net1", { netns: ns.name })).toBeUndefined();
      expect(reservations(name)).toEqual([]);
      expect(cacheFiles()).toEqual([]);
      // DEL again succeeds (the spec asks plugins for it; the runtime passes it on)
      expect((await cnilab(["cni", "del", name, ns.path, ...cache], { ...env, CNI_IFNAME: "net1" })).code)
        .toBe(0);

      // gc without a valid list (as cnitool): every cached attachment of the network is deleted
      expect((await cnilab(["cni", "add", name, ns.path, ...cache], env)).code).toBe(0);
      expect(await addresses(ns.name, "eth0")).toHaveLength(1);
      expect((await cnilab(["cni", "gc", name, ns.path, ...cache], env)).code).toBe(0);
      expect(await link.get("eth0", { netns: ns.name })).toBeUndefined();
      expect(cacheFiles()).toEqual([]);
      expect((await cnilab(["cni", "status", name, ns.path, ...cache], env)).code).toBe(0);
    });
  });
}

/** Runs the CLI as a user does. */
async function cnilab(args: string[], env: Record<string, string>) {
  const proc = Bun.spawn([`${ROOT}/bin/cnilab`, ...args], {
    env: { ...process.env, NO_COLOR: "1", ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, stdout, stderr };
}

mainFlows(REFERENCE);

if (distBuilt) {
  mainFlows(CNILAB);
} else if (buildScript && process.env.CI) {
  test("cnilab plugins are built", () => {
    throw new Error(`${DIST}/cnilab-bridge is missing: run \`npm run build\` before the tests`);
  });
} else {
  console.warn(
    `warning: ${DIST}/cnilab-bridge is missing (run \`npm run build\`): cnilab-plugin flows not run`,
  );
  test.skip(`cnilab plugins (SKIPPED: ${DIST} not built; run npm run build)`, () => {});
}

describe("cnilab cni: bad input", () => {
  test("each case exits 2 (or 1 for a failed operation) with a message that names the problem", async () => {
    const { list, name } = bridgeList(REFERENCE);
    world.writeConf("10-net.conflist", list);
    const ns = await world.netns();
    const env = { NETCONFPATH: world.conf, CNI_PATH: REFERENCE_BIN };
    const cache = ["--cache-dir", world.cache];
    const cases: [string[], Record<string, string>, number, string][] = [
      [
        ["cni", "add", name, ns.path],
        { ...env, CNI_ARGS: "IgnoreUnknown" },
        2,
        'invalid CNI_ARGS pair "IgnoreUnknown"',
      ],
      [["cni", "add", name, ns.path], { ...env, CAP_ARGS: "[1]" }, 2, "CAP_ARGS must be a JSON object"],
      [["cni", "add", name, ns.path], { ...env, CAP_ARGS: "{" }, 2, "CAP_ARGS is not valid JSON"],
      [["cni", "add", "nope", ns.path], env, 2, `no net configuration with name "nope" in ${world.conf}`],
      [
        ["cni", "add", name, ns.path],
        { ...env, NETCONFPATH: "/nonexistent-trt" },
        2,
        "/nonexistent-trt does not exist",
      ],
      [["cni", "add", name, `${ns.path}-missing`], env, 2, "does not exist"],
      [["cni", "add", name, ns.path], { ...env, CNI_IFNAME: "a-name-too-long-x" }, 2, "is too long"],
      [["cni", "frob", name, ns.path], env, 2, "expected: add|check|del|status|gc"],
      [
        ["cni", "add", name, ns.path],
        { ...env, CNI_PATH: "/nonexistent-a:/nonexistent-b" },
        1,
        "[/nonexistent-a /nonexistent-b]",
      ],
      [["cni", "check", name, ns.path], env, 1, "CHECK needs a previous ADD"],
    ];
    for (const [args, e, code, message] of cases) {
      const r = await cnilab([...args, ...cache], e);
      // args and stderr in the comparison so a failure says which case and what it printed
      expect({ args, code: r.code, said: r.stderr.includes(message) ? message : r.stderr }).toEqual({
        args,
        code,
        said: message,
      });
      expect(r.stdout).toBe("");
    }
    expect(await link.get("eth0", { netns: ns.name })).toBeUndefined();
    expect(cacheFiles()).toEqual([]);
    expect(reservations(name)).toEqual([]);
    expect((await route.list({ netns: ns.name })).length).toBe(0);
  });
});
