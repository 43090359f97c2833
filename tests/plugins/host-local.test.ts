/**
 * cnilab-host-local against the reference host-local: the same input on separate data directories
 * (results and files compared), and both on ONE data directory at the same time (shared format and lock).
 */
import { afterEach, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import {
  cnilab,
  COMMON_VERSIONS,
  dataDirState,
  ensurePlugins,
  type Invocation,
  reference,
  removeDir,
  reservations,
  runPlugin,
  tempDir,
} from "./helpers.ts";

const NET = "tplg-net";
const dirs: string[] = [];
function dataDir(): string {
  const d = tempDir("tplg-hl");
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d);
});
beforeAll(ensurePlugins);

type Ranges = Record<string, unknown>[][];

/** A host-local config on `dir`. */
function hl(
  dir: string,
  ranges: Ranges,
  opts: { v?: string; ipam?: Record<string, unknown>; top?: Record<string, unknown> } = {},
) {
  return {
    cniVersion: opts.v ?? "1.0.0",
    name: NET,
    type: "host-local",
    ...opts.top,
    ipam: { type: "host-local", dataDir: dir, ranges, ...opts.ipam },
  };
}

function inv(
  command: Invocation["command"],
  config: unknown,
  containerId = "c1",
  extra: Partial<Invocation> = {},
): Invocation {
  return { command, containerId, netns: "/var/run/netns/unused", ifname: "eth0", config, ...extra };
}

/** Runs cnilab's and the reference plugin on the same input, each on its own data directory. */
async function both(
  command: Invocation["command"],
  make: (dir: string) => unknown,
  dirs: [string, string],
  containerId = "c1",
  extra: Partial<Invocation> = {},
) {
  const [a, b] = await Promise.all([
    runPlugin(cnilab("host-local"), inv(command, make(dirs[0]), containerId, extra)),
    runPlugin(reference("host-local"), inv(command, make(dirs[1]), containerId, extra)),
  ]);
  return { mine: a, theirs: b };
}

/** Names and contents of the files (modes differ on purpose: see docs/plugins.md, "Deliberate differences from the reference plugins"). */
function files(dir: string): Record<string, string> {
  return Object.fromEntries(Object.entries(dataDirState(dir, NET)).map(([k, v]) => [k, v.content]));
}

/** A result as is; an error as code and message only (cnilab adds cniVersion and details). */
function comparable(json: Record<string, unknown> | undefined): unknown {
  return json && "code" in json ? { code: json.code, msg: json.msg } : json;
}

const DUAL: Ranges = [[{ subnet: "10.77.0.0/24" }], [{ subnet: "fd00:77::/120" }]];

describe("host-local ADD/CHECK/DEL, per spec version, against the reference", () => {
  test.each(COMMON_VERSIONS)(
    "%s: dual-stack with routes and resolvConf gives the same results and files",
    async (v) => {
      const d: [string, string] = [dataDir(), dataDir()];
      const resolv = `${d[0]}/resolv.conf`;
      writeFileSync(
        resolv,
        "# test\nnameserver 10.77.0.53\nsearch a.example b.example\ndomain example\noptions ndots:2\n",
      );
      const make = (dir: string) =>
        hl(dir, DUAL, {
          v,
          ipam: {
            resolvConf: resolv,
            routes: [{ dst: "0.0.0.0/0" }, { dst: "192.0.2.0/24", gw: "10.77.0.254" }],
          },
        });
      for (const id of ["c1", "c2"]) {
        const { mine, theirs } = await both("ADD", make, d, id);
        expect([mine.code, theirs.code]).toEqual([0, 0]);
        expect(comparable(mine.json)).toEqual(comparable(theirs.json));
      }
      const second = (await both("ADD", make, d, "c3")).mine.json as {
        ips: { address: string; version?: string }[];
        dns: unknown;
      };
      expect(second.ips.map((i) => i.address)).toEqual(["10.77.0.4/24", "fd00:77::4/120"]);
      expect(second.ips[0].version).toBe(v < "1.0.0" ? "4" : undefined);
      expect(second.dns).toEqual({
        nameservers: ["10.77.0.53"],
        domain: "example",
        search: ["a.example", "b.example"],
        options: ["ndots:2"],
      });
      expect(files(d[0])).toEqual(files(d[1]));
      expect(files(d[0])["10.77.0.2"]).toBe("c1\r\neth0");
      expect(dataDirState(d[0], NET)["10.77.0.2"].mode).toBe(0o600);

      const check = await both("CHECK", make, d, "c2");
      // CHECK arrived with spec 0.4.0: both refuse it for older configs with code 1
      expect([check.mine.json?.code, check.theirs.json?.code]).toEqual(
        v < "0.4.0" ? [1, 1] : [undefined, undefined],
      );
      const del = await both("DEL", make, d, "c1");
      expect([del.mine.code, del.theirs.code]).toEqual([0, 0]);
      expect(files(d[0])).toEqual(files(d[1]));
      expect(Object.keys(reservations(d[0], NET)).sort()).toEqual([
        "10.77.0.3",
        "10.77.0.4",
        "fd00:77::3",
        "fd00:77::4",
      ]);
      const again = await both("DEL", make, d, "c1");
      expect([again.mine.code, again.theirs.code]).toEqual([0, 0]);
      const gone = await both("CHECK", make, d, "c1");
      expect([gone.mine.json?.code, gone.theirs.json?.code]).toEqual(v < "0.4.0" ? [1, 1] : [999, 999]);
    },
  );

  test("1.1.0 (cnilab only; the reference stops at 1.0.0)", async () => {
    const d = dataDir();
    const r = await runPlugin(cnilab("host-local"), inv("ADD", hl(d, DUAL, { v: "1.1.0" })));
    expect(r.json).toEqual({
      cniVersion: "1.1.0",
      ips: [{ address: "10.77.0.2/24", gateway: "10.77.0.1" }, {
        address: "fd00:77::2/120",
        gateway: "fd00:77::1",
      }],
      dns: {},
    });
    expect(
      (await runPlugin(reference("host-local"), inv("ADD", hl(dataDir(), DUAL, { v: "1.1.0" })))).json?.code,
    ).toBe(1);
  });

  test("round-robin: a released address is not handed out again until the range wraps", async () => {
    const d: [string, string] = [dataDir(), dataDir()];
    const make = (dir: string) =>
      hl(dir, [[{ subnet: "10.78.0.0/29", rangeStart: "10.78.0.3", rangeEnd: "10.78.0.5" }]]);
    const got: string[][] = [];
    for (
      const [cmd, id] of [["ADD", "a"], ["ADD", "b"], ["DEL", "a"], ["ADD", "c"], ["ADD", "d"], [
        "ADD",
        "e",
      ]] as const
    ) {
      const { mine, theirs } = await both(cmd, make, d, id);
      expect(comparable(mine.json)).toEqual(comparable(theirs.json));
      if (cmd === "ADD") {
        got.push([
          id,
          (mine.json?.ips as { address: string }[] | undefined)?.[0]?.address ?? `code ${mine.json?.code}`,
        ]);
      }
    }
    expect(got).toEqual([["a", "10.78.0.3/29"], ["b", "10.78.0.4/29"], ["c", "10.78.0.5/29"], [
      "d",
      "10.78.0.3/29",
    ], ["e", "code 999"]]);
    expect(files(d[0])).toEqual(files(d[1]));
  });

  test("rangeStart/rangeEnd/gateway and two ranges in one set: the gateway is skipped, the set continues into the next range", async () => {
    const d: [string, string] = [dataDir(), dataDir()];
    const make = (dir: string) =>
      hl(dir, [[
        { subnet: "10.79.0.0/24", rangeStart: "10.79.0.10", rangeEnd: "10.79.0.12", gateway: "10.79.0.11" },
        { subnet: "10.80.0.0/30" },
      ]]);
    const addresses: string[] = [];
    for (const id of ["a", "b", "c", "d"]) {
      const { mine, theirs } = await both("ADD", make, d, id);
      expect(comparable(mine.json)).toEqual(comparable(theirs.json));
      addresses.push(
        `${(mine.json?.ips as { address: string; gateway: string }[])?.[0]?.address ?? mine.json?.msg}`,
      );
    }
    expect(addresses).toEqual([
      "10.79.0.10/24",
      "10.79.0.12/24",
      "10.80.0.2/30",
      "failed to allocate for range 0: no IP addresses available in range set: 10.79.0.10-10.79.0.12,10.80.0.1-10.80.0.2",
    ]);
  });

  test.each([
    // the reference 1.1.1 takes one address in IP=; cnilab also takes a list (as newer upstream versions do)
    ["CNI_ARGS IP=", (dir: string) => hl(dir, DUAL), "IgnoreUnknown=1;IP=10.77.0.9", [
      "10.77.0.9/24",
      "fd00:77::2/120",
    ]],
    [
      "args.cni.ips",
      (dir: string) => hl(dir, DUAL, { top: { args: { cni: { ips: ["10.77.0.9", "fd00:77::9"] } } } }),
      "",
      ["10.77.0.9/24", "fd00:77::9/120"],
    ],
    [
      "runtimeConfig.ips",
      (dir: string) => hl(dir, DUAL, { top: { runtimeConfig: { ips: ["10.77.0.9/24", "fd00:77::9/120"] } } }),
      "",
      ["10.77.0.9/24", "fd00:77::9/120"],
    ],
  ])("requested addresses through %s", async (_how, make, args, expected) => {
    const d: [string, string] = [dataDir(), dataDir()];
    const { mine, theirs } = await both("ADD", make, d, "c1", { args });
    expect(comparable(mine.json)).toEqual(comparable(theirs.json));
    expect((mine.json?.ips as { address: string }[]).map((i) => i.address)).toEqual(expected);
    expect(files(d[0])).toEqual(files(d[1]));
    // asking for a taken address fails and reserves nothing
    const taken = await both("ADD", make, d, "c2", { args });
    expect([taken.mine.json?.code, taken.theirs.json?.code]).toEqual([999, 999]);
    expect(taken.mine.json?.msg).toContain("10.77.0.9 is not available");
    expect(files(d[0])).toEqual(files(d[1]));
  });

  test.each([
    ["the gateway", "10.77.0.1", "is subnet's gateway"],
    ["an address outside every range", "10.99.0.9", "failed to allocate all requested IPs: 10.99.0.9"],
  ])("requesting %s fails and leaves no reservation", async (_what, ip, msg) => {
    const d: [string, string] = [dataDir(), dataDir()];
    const { mine, theirs } = await both("ADD", (dir) => hl(dir, DUAL), d, "c1", { args: `IP=${ip}` });
    expect([mine.json?.code, theirs.json?.code]).toEqual([999, 999]);
    expect(mine.json?.msg).toContain(msg);
    expect(reservations(d[0], NET)).toEqual({});
    expect(reservations(d[1], NET)).toEqual({});
  });

  test("the old single-range form (subnet directly in ipam) and IPv6 defaults", async () => {
    const d: [string, string] = [dataDir(), dataDir()];
    const make = (dir: string) => ({
      cniVersion: "0.4.0",
      name: NET,
      type: "host-local",
      ipam: { type: "host-local", dataDir: dir, subnet: "fd00:81::/126" },
    });
    const results = [];
    for (const id of ["a", "b", "c", "d"]) {
      const { mine, theirs } = await both("ADD", make, d, id);
      expect(comparable(mine.json)).toEqual(comparable(theirs.json));
      results.push((mine.json?.ips as { address: string }[] | undefined)?.[0]?.address ?? mine.json?.code);
    }
    expect(results).toEqual(["fd00:81::2/126", "fd00:81::3/126", 999, 999]);
  });
});

test("CNI_ARGS IP= with a list of addresses (cnilab)", async () => {
  const d = dataDir();
  const r = await runPlugin(
    cnilab("host-local"),
    inv("ADD", hl(d, DUAL), "c1", { args: "IP=10.77.0.9,fd00:77::9" }),
  );
  expect((r.json?.ips as { address: string }[]).map((i) => i.address)).toEqual([
    "10.77.0.9/24",
    "fd00:77::9/120",
  ]);
});

describe("host-local: one data directory shared with the reference", () => {
  test("each releases, finds and respects the other's reservations", async () => {
    const d = dataDir();
    const config = hl(d, DUAL);
    expect((await runPlugin(reference("host-local"), inv("ADD", config, "ref1"))).code).toBe(0);
    const mine = await runPlugin(cnilab("host-local"), inv("ADD", config, "mine1"));
    expect((mine.json?.ips as { address: string }[]).map((i) => i.address)).toEqual([
      "10.77.0.3/24",
      "fd00:77::3/120",
    ]);
    expect((await runPlugin(reference("host-local"), inv("CHECK", config, "mine1"))).code).toBe(0);
    expect((await runPlugin(cnilab("host-local"), inv("CHECK", config, "ref1"))).code).toBe(0);
    expect((await runPlugin(cnilab("host-local"), inv("DEL", config, "ref1"))).code).toBe(0);
    expect((await runPlugin(reference("host-local"), inv("DEL", config, "mine1"))).code).toBe(0);
    expect(reservations(d, NET)).toEqual({});
  });

  test("cnilab waits for the lock the way the reference takes it (flock on <dataDir>/<network>/lock)", async () => {
    const d = dataDir();
    const config = hl(d, DUAL);
    expect((await runPlugin(cnilab("host-local"), inv("ADD", config, "first"))).code).toBe(0);
    // util-linux flock(1) takes the same kernel lock as Go's syscall.Flock; the holder writes `released`
    // just before it lets go, so an ADD that really waited for the lock finds the file when it returns
    const released = `${d}/released`;
    const holder = Bun.spawn([
      "flock",
      "--exclusive",
      `${d}/${NET}/lock`,
      "sh",
      "-c",
      `sleep 0.6; touch ${released}`,
    ]);
    try {
      await Bun.sleep(100);
      expect(existsSync(released)).toBe(false);
      const r = await runPlugin(cnilab("host-local"), inv("ADD", config, "second"));
      expect(r.code).toBe(0);
      expect(existsSync(released)).toBe(true); // blocked until the holder let go
    } finally {
      holder.kill();
      await holder.exited;
    }
  });

  test("50 ADDs at once, half cnilab and half the reference: 50 distinct addresses; 50 DELs leave only bookkeeping", async () => {
    const d = dataDir();
    const config = hl(d, [[{ subnet: "10.82.0.0/24" }]]);
    const ids = Array.from({ length: 50 }, (_, i) => `pod${i}`);
    const exe = (i: number) => (i % 2 === 0 ? cnilab("host-local") : reference("host-local"));
    const adds = await Promise.all(ids.map((id, i) => runPlugin(exe(i), inv("ADD", config, id))));
    expect(adds.map((r) => r.code)).toEqual(ids.map(() => 0));
    const addresses = adds.map((r) => (r.json?.ips as { address: string }[])[0].address);
    expect(new Set(addresses).size).toBe(50);
    const held = reservations(d, NET);
    expect(Object.keys(held)).toHaveLength(50);
    ids.forEach((id, i) => expect(held[addresses[i].split("/")[0]]).toBe(`${id}\r\neth0`));
    const dels = await Promise.all(ids.map((id, i) => runPlugin(exe(i + 1), inv("DEL", config, id))));
    expect(dels.map((r) => r.code)).toEqual(ids.map(() => 0));
    expect(Object.keys(dataDirState(d, NET)).sort()).toEqual(["last_reserved_ip.0", "lock"]);
  });
});

describe("host-local GC and STATUS (spec 1.1)", () => {
  test("GC releases every reservation whose attachment is not valid, also ones the reference made", async () => {
    const d = dataDir();
    const config = hl(d, DUAL, { v: "1.1.0" });
    const old = hl(d, DUAL, { v: "1.0.0" });
    expect((await runPlugin(cnilab("host-local"), inv("ADD", config, "keep"))).code).toBe(0);
    expect((await runPlugin(cnilab("host-local"), inv("ADD", config, "keep", { ifname: "net1" }))).code).toBe(
      0,
    );
    expect((await runPlugin(reference("host-local"), inv("ADD", old, "leaked"))).code).toBe(0);
    expect((await runPlugin(cnilab("host-local"), inv("ADD", config, "gone"))).code).toBe(0);
    const gc = await runPlugin(cnilab("host-local"), {
      command: "GC",
      config: { ...config, "cni.dev/valid-attachments": [{ containerID: "keep", ifname: "eth0" }] },
    });
    expect(gc.code).toBe(0);
    expect(Object.values(reservations(d, NET)).sort()).toEqual(["keep\r\neth0", "keep\r\neth0"]);
    // the older key name works too
    const gcOld = await runPlugin(cnilab("host-local"), {
      command: "GC",
      config: { ...config, "cni.dev/attachments": [] },
    });
    expect(gcOld.code).toBe(0);
    expect(reservations(d, NET)).toEqual({});
    expect(Object.keys(dataDirState(d, NET)).sort()).toEqual([
      "last_reserved_ip.0",
      "last_reserved_ip.1",
      "lock",
    ]);
  });

  test("STATUS is ready when the data directory is usable, code 50 when it is not", async () => {
    const d = dataDir();
    expect(
      (await runPlugin(cnilab("host-local"), { command: "STATUS", config: hl(d, DUAL, { v: "1.1.0" }) }))
        .code,
    ).toBe(0);
    writeFileSync(`${d}/file`, "");
    const bad = await runPlugin(cnilab("host-local"), {
      command: "STATUS",
      config: hl(`${d}/file`, DUAL, { v: "1.1.0" }),
    });
    expect(bad.json?.code).toBe(50);
  });
});

describe("host-local bad input: the error code, a message that says what to fix, and no state", () => {
  const cases: [string, (dir: string) => unknown, number, Partial<Invocation>?][] = [
    ["malformed JSON", (dir) => JSON.stringify(hl(dir, DUAL)).slice(0, -2), 6],
    ["ranges of the wrong type", (dir) => hl(dir, "10.0.0.0/24" as unknown as Ranges), 6],
    ["subnet of the wrong type", (dir) => hl(dir, [[{ subnet: 10 }]]), 6],
    ["unknown cniVersion", (dir) => hl(dir, DUAL, { v: "0.9.9" }), 1],
    ["missing type", (dir) => ({ ...hl(dir, DUAL), type: undefined }), 7],
    ["missing name", (dir) => ({ ...hl(dir, DUAL), name: undefined }), 7],
    ["network name escaping the data directory", (dir) => ({ ...hl(dir, DUAL), name: "../../etc" }), 7],
    ["missing ipam", (dir) => ({ ...hl(dir, DUAL), ipam: undefined }), 7],
    ["no ranges", (dir) => hl(dir, []), 7],
    ["an invalid subnet", (dir) => hl(dir, [[{ subnet: "10.0.0.0/33" }]]), 7],
    ["a subnet that is not a CIDR", (dir) => hl(dir, [[{ subnet: "banana" }]]), 7],
    ["a /31", (dir) => hl(dir, [[{ subnet: "10.0.0.0/31" }]]), 7],
    ["a /32", (dir) => hl(dir, [[{ subnet: "10.0.0.1/32" }]]), 7],
    ["an IPv6 /127", (dir) => hl(dir, [[{ subnet: "fd00::/127" }]]), 7],
    ["host bits set", (dir) => hl(dir, [[{ subnet: "10.0.0.1/24" }]]), 7],
    [
      "overlapping range sets",
      (dir) => hl(dir, [[{ subnet: "10.0.0.0/16" }], [{ subnet: "10.0.1.0/24" }]]),
      7,
    ],
    [
      "overlapping ranges in one set",
      (dir) => hl(dir, [[{ subnet: "10.0.0.0/24" }, { subnet: "10.0.0.0/25" }]]),
      7,
    ],
    [
      "mixed families in one set",
      (dir) => hl(dir, [[{ subnet: "10.0.0.0/24" }, { subnet: "fd00::/64" }]]),
      7,
    ],
    [
      "rangeStart outside the subnet",
      (dir) => hl(dir, [[{ subnet: "10.0.0.0/24", rangeStart: "10.0.1.5" }]]),
      7,
    ],
    ["a gateway of the other family", (dir) => hl(dir, [[{ subnet: "10.0.0.0/24", gateway: "fd00::1" }]]), 7],
    ["a relative dataDir", () => hl("tmp/tplg-relative", DUAL), 7],
    ["a dataDir with ..", (dir) => hl(`${dir}/../../etc`, DUAL), 7],
    ["a requested IP that is not one", (dir) => hl(dir, DUAL), 7, { args: "IP=10.0.0.999" }],
    ["an unknown CNI_ARGS key", (dir) => hl(dir, DUAL), 4, { args: "K8S_POD_NAME=x" }],
    ["an ifname over 15 bytes", (dir) => hl(dir, DUAL), 4, { ifname: "eth0123456789abc" }],
    ["a container ID with /", (dir) => hl(dir, DUAL), 4, { containerId: "a/b" }],
    ["a container ID ..", (dir) => hl(dir, DUAL), 4, { containerId: ".." }],
    ["a container ID with a space", (dir) => hl(dir, DUAL), 4, { containerId: "a b" }],
  ];

  test.each(cases)("%s", async (_what, make, code, extra = {}) => {
    const d = dataDir();
    for (const command of ["ADD", "DEL", "CHECK"] as const) {
      const r = await runPlugin(cnilab("host-local"), { ...inv(command, make(d)), ...extra });
      expect([command, r.code, r.json?.code]).toEqual([command, 1, code]);
      expect(String(r.json?.msg).length).toBeGreaterThan(5);
    }
    expect(dataDirState(d, NET)).toEqual({});
    expect(Bun.spawnSync(["ls", "-A", d]).stdout.toString()).toBe("");
  });

  test("an exhausted range: the reference's message, and nothing new on disk", async () => {
    const d: [string, string] = [dataDir(), dataDir()];
    const make = (dir: string) => hl(dir, [[{ subnet: "10.83.0.0/30" }]]);
    expect((await both("ADD", make, d, "a")).mine.code).toBe(0);
    const before = files(d[0]);
    const { mine, theirs } = await both("ADD", make, d, "b");
    expect([mine.json?.code, theirs.json?.code]).toEqual([999, 999]);
    expect(mine.json?.msg).toBe(theirs.json?.msg!);
    expect(mine.json?.msg).toBe(
      "failed to allocate for range 0: no IP addresses available in range set: 10.83.0.1-10.83.0.2",
    );
    expect(files(d[0])).toEqual(before);
  });

  test("ADD twice for one attachment: both refuse the duplicate allocation alike, the first reservation stays", async () => {
    // re-measured for the README: Debian's 1.1.1 refuses it too (it does not hand the address out again)
    const d: [string, string] = [dataDir(), dataDir()];
    const make = (dir: string) => hl(dir, DUAL);
    const first = await both("ADD", make, d);
    expect([first.mine.code, first.theirs.code]).toEqual([0, 0]);
    const before = [reservations(d[0], NET), reservations(d[1], NET)];
    const again = await both("ADD", make, d);
    expect(comparable(again.mine.json)).toEqual(comparable(again.theirs.json));
    expect(again.mine.json?.code).toBe(999);
    expect(again.mine.json?.msg).toContain("duplicate allocation is not allowed");
    expect([reservations(d[0], NET), reservations(d[1], NET)]).toEqual(before);
  });
});
