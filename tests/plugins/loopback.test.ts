/**
 * cnilab-loopback against the reference loopback: the same input in fresh namespaces, for every spec
 * version, comparing the result JSON and the state of `lo` inside the namespace.
 */
import { afterEach, beforeAll, describe, expect, test } from "bun:test";
import { link } from "../../lib/iproute2/mod.ts";
import {
  cnilab,
  CNILAB_VERSIONS,
  COMMON_VERSIONS,
  ensurePlugins,
  makeNetns,
  reference,
  runPlugin,
  type TestNetns,
} from "./helpers.ts";

const made: TestNetns[] = [];
async function fresh(): Promise<TestNetns> {
  const ns = await makeNetns("tplg");
  made.push(ns);
  return ns;
}
afterEach(async () => {
  for (const ns of made.splice(0)) await ns.destroy();
});
beforeAll(ensurePlugins);

const config = (cniVersion: string, extra: Record<string, unknown> = {}) => ({
  cniVersion,
  name: "lo-net",
  type: "loopback",
  ...extra,
});

/** lo as seen inside the namespace: up, and its addresses. */
async function loState(ns: TestNetns) {
  const lo = await link.get("lo", { netns: ns.name });
  const out = Bun.spawnSync(["ip", "-n", ns.name, "-j", "addr", "show", "dev", "lo"]).stdout.toString();
  const addrs = (JSON.parse(out)[0]?.addr_info ?? []).map((a: { local: string; prefixlen: number }) =>
    `${a.local}/${a.prefixlen}`
  );
  return { up: lo?.up, addrs };
}

function withoutSandbox(json: unknown): unknown {
  return JSON.parse(JSON.stringify(json).replaceAll(/\/var\/run\/netns\/tplg-[0-9a-f]+/g, "<netns>"));
}

function withoutIpVersion(json: Record<string, unknown> | undefined): unknown {
  return { ...json, ips: (json?.ips as Record<string, unknown>[]).map(({ version: _, ...rest }) => rest) };
}

describe("loopback ADD, per spec version", () => {
  test.each(COMMON_VERSIONS)("%s: same result and lo state as the reference", async (v) => {
    const [mine, theirs] = [await fresh(), await fresh()];
    expect((await loState(mine)).up).toBe(false);
    const a = await runPlugin(cnilab("loopback"), {
      command: "ADD",
      containerId: "c1",
      netns: mine.path,
      ifname: "eth0",
      config: config(v),
    });
    const b = await runPlugin(reference("loopback"), {
      command: "ADD",
      containerId: "c1",
      netns: theirs.path,
      ifname: "eth0",
      config: config(v),
    });
    expect([a.code, b.code]).toEqual([0, 0]);
    // the reference loopback prints 0.x results without ips[].version (it skips the conversion because it
    // stamps the result with the config's version first); cnilab's have it, as the spec's 0.4.0 shape says
    const ips = a.json?.ips as { version?: string }[];
    expect(ips.map((i) => i.version)).toEqual(v < "1.0.0" ? ["4", "6"] : [undefined, undefined]);
    expect(withoutSandbox(withoutIpVersion(a.json))).toEqual(withoutSandbox(b.json));
    expect(a.json?.interfaces).toEqual([{ name: "lo", mac: "00:00:00:00:00:00", sandbox: mine.path }]);
    expect(await loState(mine)).toEqual(await loState(theirs));
    expect((await loState(mine)).up).toBe(true);
    expect((await loState(mine)).addrs).toContain("127.0.0.1/8");
  });

  test("1.1.0: cnilab answers in 1.1.0 (the reference 1.1.1 stops at 1.0.0 with code 1)", async () => {
    const ns = await fresh();
    const a = await runPlugin(cnilab("loopback"), {
      command: "ADD",
      containerId: "c1",
      netns: ns.path,
      ifname: "lo",
      config: config("1.1.0"),
    });
    expect(a.code).toBe(0);
    expect(a.json?.cniVersion).toBe("1.1.0");
    const b = await runPlugin(reference("loopback"), {
      command: "ADD",
      containerId: "c1",
      netns: ns.path,
      ifname: "lo",
      config: config("1.1.0"),
    });
    expect(b.json?.code).toBe(1);
  });

  test.each(CNILAB_VERSIONS)("%s: a prevResult passes through untouched", async (v) => {
    const ns = await fresh();
    const prevResult = {
      cniVersion: v,
      interfaces: [{ name: "eth0", mac: "02:11:22:33:44:55", sandbox: ns.path }],
      ips: [{
        address: "10.3.0.2/24",
        gateway: "10.3.0.1",
        interface: 0,
        ...(v < "1.0.0" ? { version: "4" } : {}),
      }],
    };
    const a = await runPlugin(cnilab("loopback"), {
      command: "ADD",
      containerId: "c1",
      netns: ns.path,
      ifname: "lo",
      config: config(v, { prevResult }),
    });
    expect(a.json).toEqual({ ...prevResult, dns: {} });
    if (v !== "1.1.0") {
      const b = await runPlugin(reference("loopback"), {
        command: "ADD",
        containerId: "c1",
        netns: ns.path,
        ifname: "lo",
        config: config(v, { prevResult }),
      });
      expect(withoutSandbox(a.json)).toEqual(withoutSandbox(b.json));
    }
    expect((await loState(ns)).up).toBe(true);
  });
});

describe("loopback CHECK and DEL", () => {
  test("CHECK passes while lo is up and fails with the reference's code once it is down", async () => {
    for (const exe of [cnilab("loopback"), reference("loopback")]) {
      const ns = await fresh();
      const inv = { containerId: "c1", netns: ns.path, ifname: "lo", config: config("1.0.0") };
      expect((await runPlugin(exe, { command: "ADD", ...inv })).code).toBe(0);
      expect((await runPlugin(exe, { command: "CHECK", ...inv })).code).toBe(0);
      expect((await runPlugin(exe, { command: "DEL", ...inv })).code).toBe(0);
      expect((await loState(ns)).up).toBe(false);
      const check = await runPlugin(exe, { command: "CHECK", ...inv });
      expect([check.code, check.json?.code, check.json?.msg]).toEqual([1, 999, "loopback interface is down"]);
    }
  });

  test("DEL succeeds on repeat, with an empty CNI_NETNS and when the namespace is gone", async () => {
    for (const exe of [cnilab("loopback"), reference("loopback")]) {
      const ns = await fresh();
      const inv = { containerId: "c1", netns: ns.path, ifname: "lo", config: config("1.0.0") };
      expect((await runPlugin(exe, { command: "ADD", ...inv })).code).toBe(0);
      expect((await runPlugin(exe, { command: "DEL", ...inv })).code).toBe(0);
      expect((await runPlugin(exe, { command: "DEL", ...inv })).code).toBe(0);
      expect((await runPlugin(exe, { command: "DEL", ...inv, netns: "" })).code).toBe(0);
      await ns.destroy();
      const gone = await runPlugin(exe, { command: "DEL", ...inv });
      expect([exe, gone.code]).toEqual([exe, 0]);
    }
  });
});

describe("loopback with other kinds of CNI_NETNS", () => {
  test("a /proc/PID/ns/net path works (the namespace of a process, no name)", async () => {
    const holder = Bun.spawn(["unshare", "--net", "sleep", "60"]);
    try {
      await Bun.sleep(100);
      const path = `/proc/${holder.pid}/ns/net`;
      const inv = { containerId: "c1", netns: path, ifname: "lo", config: config("1.0.0") };
      const a = await runPlugin(cnilab("loopback"), { command: "ADD", ...inv });
      expect(a.code).toBe(0);
      expect((a.json?.interfaces as { sandbox: string }[])[0].sandbox).toBe(path);
      const seen = Bun.spawnSync(["nsenter", `--net=${path}`, "ip", "-j", "link", "show", "lo"]).stdout
        .toString();
      expect(JSON.parse(seen)[0].flags).toContain("UP");
      expect((await runPlugin(cnilab("loopback"), { command: "CHECK", ...inv })).code).toBe(0);
      expect((await runPlugin(cnilab("loopback"), { command: "DEL", ...inv })).code).toBe(0);
      const after = Bun.spawnSync(["nsenter", `--net=${path}`, "ip", "-j", "link", "show", "lo"]).stdout
        .toString();
      expect(JSON.parse(after)[0].flags).not.toContain("UP");
    } finally {
      holder.kill();
      await holder.exited;
    }
  });

  test.each([
    ["a directory", "/tmp", "is not a network namespace"],
    ["a regular file", "/etc/hostname", "is not a network namespace"],
    ["a missing path", "/var/run/netns/tplg-nonesuch-0", "does not exist"],
  ])(
    "%s as CNI_NETNS: ADD and CHECK fail with code 4 and the host's lo is untouched",
    async (_what, path, msg) => {
      const before = await link.get("lo");
      for (const command of ["ADD", "CHECK"] as const) {
        const a = await runPlugin(cnilab("loopback"), {
          command,
          containerId: "c1",
          netns: path,
          ifname: "lo",
          config: config("1.0.0"),
        });
        expect([a.code, a.json?.code]).toEqual([1, 4]);
        expect(a.json?.msg).toContain(msg);
        const b = await runPlugin(reference("loopback"), {
          command,
          containerId: "c1",
          netns: path,
          ifname: "lo",
          config: config("1.0.0"),
        });
        expect(b.code).not.toBe(0);
      }
      expect((await link.get("lo"))?.up).toBe(before?.up);
    },
  );

  test("DEL with a stale path (a directory, not a namespace) succeeds and touches nothing", async () => {
    const before = await link.get("lo");
    const a = await runPlugin(cnilab("loopback"), {
      command: "DEL",
      containerId: "c1",
      netns: "/tmp",
      ifname: "lo",
      config: config("1.0.0"),
    });
    expect([a.code, a.stdout]).toEqual([0, ""]);
    expect((await link.get("lo"))?.up).toBe(before?.up);
  });
});
