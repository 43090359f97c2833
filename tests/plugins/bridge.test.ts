/**
 * cnilab-bridge on its own: how the config is read (defaults, MAC sources, fields it refuses), the names of
 * its NAT chains, and the refusals a user sees from the executable (with nothing created).
 * The comparison with the reference bridge is in conformance-bridge.test.ts.
 */
import { afterEach, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readlinkSync, statSync } from "node:fs";
import { CniError } from "../../lib/cni/errors.ts";
import { readContext } from "../../lib/cni/skeleton.ts";
import { loadConf } from "../../lib/plugins/bridge/config.ts";
import { chainName, ruleComment } from "../../lib/plugins/bridge/ipmasq.ts";
import { link } from "../../lib/iproute2/mod.ts";
import { run } from "../../lib/shell/mod.ts";
import {
  cnilab,
  ensurePlugins,
  hex,
  makeNetns,
  removeDir,
  reservations,
  runPlugin,
  tempDir,
  type TestNetns,
} from "./helpers.ts";

/** The bridge's config as the skeleton hands it over. */
function confOf(config: Record<string, unknown>, cniArgs = "") {
  const ctx = readContext(
    "ADD",
    {
      CNI_CONTAINERID: "c1",
      CNI_NETNS: "/var/run/netns/x",
      CNI_IFNAME: "eth0",
      CNI_ARGS: cniArgs,
      CNI_PATH: "/x",
    },
    JSON.stringify({ cniVersion: "1.0.0", name: "net", type: "cnilab-bridge", ...config }),
    ["MAC"],
  );
  return loadConf(ctx);
}

function codeOf(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof CniError ? e.code : -1;
  }
  return undefined;
}

describe("config", () => {
  test("defaults: bridge cni0, every switch off, kernel MTU", () => {
    expect(confOf({})).toEqual({
      network: "net",
      bridge: "cni0",
      isGateway: false,
      isDefaultGateway: false,
      forceAddress: false,
      ipMasq: false,
      mtu: 0,
      hairpinMode: false,
      promiscMode: false,
      mac: undefined,
    });
  });

  test("isDefaultGateway implies isGateway", () => {
    expect(confOf({ isDefaultGateway: true })).toMatchObject({ isGateway: true, isDefaultGateway: true });
  });

  test("MAC: runtimeConfig.mac over args.cni.mac over CNI_ARGS MAC", () => {
    const env = "IgnoreUnknown=1;MAC=0a:00:00:00:00:01";
    expect(confOf({}, env).mac).toBe("0a:00:00:00:00:01");
    expect(confOf({ args: { cni: { mac: "0a:00:00:00:00:02" } } }, env).mac).toBe("0a:00:00:00:00:02");
    expect(
      confOf(
        { runtimeConfig: { mac: "0A:00:00:00:00:03" }, args: { cni: { mac: "0a:00:00:00:00:02" } } },
        env,
      ).mac,
    ).toBe("0a:00:00:00:00:03");
  });

  test("bad values are code 7 (invalid network config), wrong types 6, fields not implemented 2", () => {
    expect(codeOf(() => confOf({ mtu: "1400" }))).toBe(6);
    expect(codeOf(() => confOf({ mtu: 20 }))).toBe(7);
    expect(codeOf(() => confOf({ isGateway: "yes" }))).toBe(6);
    expect(codeOf(() => confOf({ bridge: "a-bridge-name-too-long" }))).toBe(7);
    expect(codeOf(() => confOf({ args: { cni: { mac: "not-a-mac" } } }))).toBe(7);
    expect(codeOf(() => confOf({ runtimeConfig: { mac: "01:00:5e:00:00:01" } }))).toBe(7); // multicast
    expect(codeOf(() => confOf({ vlan: 100 }))).toBe(2);
    expect(codeOf(() => confOf({ macspoofchk: true }))).toBe(2);
    expect(codeOf(() => confOf({ vlan: 0, preserveDefaultVlan: true }))).toBeUndefined();
  });
});

describe("NAT chain names", () => {
  test("the reference's: CNI- and the first 24 hex digits of sha512(network + container ID)", () => {
    // seen from the reference bridge on this machine: network "tbrnet", container "abc123"
    expect(chainName("tbrnet", "abc123")).toBe("CNI-d908a8e6d8a33dfa005e41c5");
    expect(ruleComment("tbrnet", "abc123")).toBe('name: "tbrnet" id: "abc123"');
  });
});

describe("refusals from the executable leave nothing behind", () => {
  let ns: TestNetns | undefined;
  let dir: string | undefined;
  beforeAll(ensurePlugins);
  afterEach(async () => {
    await ns?.destroy();
    if (dir) removeDir(dir);
  });

  for (
    const [what, extra, code] of [
      ["vlan (not implemented)", { vlan: 10 }, 2],
      ["hairpinMode with promiscMode", { hairpinMode: true, promiscMode: true }, 7],
      ["an MTU as a string", { mtu: "9000" }, 6],
    ] as const
  ) {
    test(what, async () => {
      ns = await makeNetns("tbr");
      dir = tempDir("tbr-ipam");
      const bridge = `tbr${hex(4)}`;
      const r = await runPlugin(cnilab("bridge"), {
        command: "ADD",
        containerId: "c1",
        netns: ns.path,
        ifname: "eth0",
        config: {
          cniVersion: "1.0.0",
          name: "tbr-net",
          type: "cnilab-bridge",
          bridge,
          ...extra,
          ipam: { type: "cnilab-host-local", subnet: "10.233.1.0/24", dataDir: dir },
        },
      });
      expect(r.code).not.toBe(0);
      expect(r.json?.code).toBe(code);
      expect(String(r.json?.msg).length).toBeGreaterThan(10);
      expect(existsSync(`/sys/class/net/${bridge}`)).toBe(false);
      expect(reservations(dir, "tbr-net")).toEqual({});
    });
  }
});

describe("CNI_NETNS given as /proc/PID/ns/net", () => {
  beforeAll(ensurePlugins);

  test("ADD and DEL through a process's namespace path", async () => {
    const ns = await makeNetns("tbr");
    const dir = tempDir("tbr-ipam");
    const bridge = `tbr${hex(4)}`;
    const holder = Bun.spawn(["ip", "netns", "exec", ns.name, "sleep", "60"]);
    try {
      // wait until the holder is inside the namespace
      const path = `/proc/${holder.pid}/ns/net`;
      for (let i = 0; i < 100 && readlinkOr(path) !== readlinkOr(ns.path, true); i++) await Bun.sleep(10);
      expect(readlinkOr(path)).toBe(readlinkOr(ns.path, true)); // never touch the host's namespace
      const config = {
        cniVersion: "1.0.0",
        name: "tbr-net",
        type: "cnilab-bridge",
        bridge,
        ipam: { type: "cnilab-host-local", subnet: "10.233.2.0/24", dataDir: dir },
      };
      const inv = { containerId: "c1", netns: path, ifname: "net1", config };
      const add = await runPlugin(cnilab("bridge"), { command: "ADD", ...inv });
      expect(add.code).toBe(0);
      const ifaces = add.json?.interfaces as { name: string; sandbox?: string }[];
      expect(ifaces[2]).toMatchObject({ name: "net1", sandbox: path });
      expect((await link.get("net1", { netns: ns.name }))?.kind).toBe("veth");
      expect((await runPlugin(cnilab("bridge"), { command: "DEL", ...inv })).code).toBe(0);
      expect(await link.get("net1", { netns: ns.name })).toBeUndefined();
      expect(reservations(dir, "tbr-net")).toEqual({});
    } finally {
      holder.kill();
      await holder.exited;
      if (existsSync(`/sys/class/net/${bridge}`)) await run(["ip", "link", "del", bridge]);
      await ns.destroy();
      removeDir(dir);
    }
  });
});

/** The namespace identity (`net:[inode]`) behind a /proc link, or the inode of a pinned netns file. */
function readlinkOr(path: string, pinned = false): string {
  try {
    return pinned ? `net:[${statSync(path).ino}]` : readlinkSync(path);
  } catch {
    return "";
  }
}
