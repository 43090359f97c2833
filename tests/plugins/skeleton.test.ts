/**
 * The plugin skeleton (lib/cni/skeleton.ts), result versions (lib/cni/version.ts) and address math
 * (lib/cni/ip.ts): in-process through `invoke`, and through the compiled binary next to the reference
 * plugin where both must answer alike.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { CniError } from "../../lib/cni/errors.ts";
import { formatIp, parseCidr, parseIp } from "../../lib/cni/ip.ts";
import { invoke, type PluginContext, type PluginHandlers } from "../../lib/cni/skeleton.ts";
import type { Result } from "../../lib/cni/types.ts";
import { convertResult, parseResult } from "../../lib/cni/version.ts";
import { cnilab, ensurePlugins, reference, runPlugin } from "./helpers.ts";

/** Handlers that record what they were given. */
function recorder(): PluginHandlers & { seen: PluginContext[] } {
  const seen: PluginContext[] = [];
  const result: Result = {
    cniVersion: "1.1.0",
    interfaces: [{ name: "eth0", mac: "02:00:00:00:00:01", mtu: 1400, sandbox: "/var/run/netns/x" }],
    ips: [{ address: "10.1.0.2/24", gateway: "10.1.0.1", interface: 0 }, {
      address: "fd01::2/64",
      interface: 0,
    }],
    routes: [{ dst: "0.0.0.0/0", gw: "10.1.0.1", mtu: 1300 }],
    dns: {},
  };
  return {
    seen,
    cniArgs: ["IP"],
    add: (ctx) => {
      seen.push(ctx);
      return result;
    },
    del: (ctx) => void seen.push(ctx),
    check: (ctx) => void seen.push(ctx),
    gc: (ctx) => void seen.push(ctx),
  };
}

const ENV = {
  CNI_CONTAINERID: "c0ffee",
  CNI_NETNS: "/var/run/netns/x",
  CNI_IFNAME: "eth0",
  CNI_PATH: "/opt/cni/bin",
};
const conf = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({ cniVersion: "1.0.0", name: "net", type: "t", ...extra });

async function call(command: string, stdin: string, env: Record<string, string | undefined> = {}) {
  const h = recorder();
  const out = await invoke(
    h,
    "test plugin",
    { ...ENV, CNI_COMMAND: command, ...env },
    () => Promise.resolve(stdin),
  );
  return { ...out, json: out.stdout ? JSON.parse(out.stdout) : undefined, seen: h.seen };
}

describe("skeleton: environment", () => {
  test("ADD hands the handler a typed context and prints the result in the config's version", async () => {
    const r = await call("ADD", conf({ cniVersion: "0.4.0" }), {
      CNI_ARGS: "IgnoreUnknown=1;IP=10.1.0.9;K8S_POD_NAME=p",
    });
    expect(r.code).toBe(0);
    const ctx = r.seen[0];
    expect(ctx.command).toBe("ADD");
    expect([ctx.containerId, ctx.netns, ctx.ifname, ctx.version]).toEqual([
      "c0ffee",
      "/var/run/netns/x",
      "eth0",
      "0.4.0",
    ]);
    expect(ctx.args).toEqual({ IP: "10.1.0.9", K8S_POD_NAME: "p" });
    expect(ctx.path).toEqual(["/opt/cni/bin"]);
    expect(r.json.cniVersion).toBe("0.4.0");
    expect(r.json.ips.map((i: { version: string }) => i.version)).toEqual(["4", "6"]);
    expect(r.json.interfaces[0].mtu).toBeUndefined(); // interface mtu is spec 1.1
  });

  test("a missing variable or unknown command is code 4; a missing container ID names it", async () => {
    const missing = await call("ADD", conf(), { CNI_IFNAME: undefined, CNI_NETNS: undefined });
    expect([missing.code, missing.json.code]).toEqual([1, 4]);
    expect(missing.json.msg).toContain("CNI_NETNS");
    expect(missing.json.msg).toContain("CNI_IFNAME");
    const unknown = await call("FROB", conf());
    expect([unknown.json.code, unknown.json.msg]).toEqual([4, "unknown CNI_COMMAND: FROB"]);
    expect(unknown.seen).toHaveLength(0);
  });

  test("DEL accepts an empty CNI_NETNS", async () => {
    const r = await call("DEL", conf(), { CNI_NETNS: "" });
    expect(r.code).toBe(0);
    expect(r.seen[0].netns).toBe("");
  });

  test.each([
    ["a/b", 4],
    ["..", 4],
    ["has space", 4],
    ["-lead", 4],
  ])("container ID %p is refused with code %p", async (id, code) => {
    const r = await call("ADD", conf(), { CNI_CONTAINERID: id });
    expect([r.code, r.json.code]).toEqual([1, code]);
    expect(r.seen).toHaveLength(0);
  });

  test.each([
    ["eth0-is-too-long1", "too long"],
    [".", ". or .."],
    ["a/b", "/ or :"],
    ["a:b", "/ or :"],
    ["a b", "whitespace"],
  ])("ifname %p is refused with code 4 (%s)", async (ifname, why) => {
    const r = await call("ADD", conf(), { CNI_IFNAME: ifname });
    expect(r.json.code).toBe(4);
    expect(r.json.msg).toContain(why);
  });

  test("CNI_ARGS: unknown keys need IgnoreUnknown, pairs need one =", async () => {
    expect((await call("ADD", conf(), { CNI_ARGS: "K8S_POD_NAME=p" })).json.code).toBe(4);
    expect((await call("ADD", conf(), { CNI_ARGS: "IP" })).json.msg).toContain("invalid pair");
    expect((await call("ADD", conf(), { CNI_ARGS: "IgnoreUnknown=true;K8S_POD_NAME=p" })).code).toBe(0);
  });
});

describe("skeleton: config", () => {
  test.each([
    ["malformed JSON", "{", 6],
    ["not an object", "[1]", 6],
    ["name of the wrong type", conf({ name: 5 }), 6],
    ["cniVersion of the wrong type", conf({ cniVersion: 1 }), 6],
    ["ipam not an object", conf({ ipam: "host-local" }), 6],
    ["prevResult with ips not a list", conf({ prevResult: { cniVersion: "1.0.0", ips: "x" } }), 6],
    ["missing name", JSON.stringify({ cniVersion: "1.0.0", type: "t" }), 7],
    ["name with a slash", conf({ name: "../etc" }), 7],
    ["missing type", JSON.stringify({ cniVersion: "1.0.0", name: "net" }), 7],
    ["unknown cniVersion", conf({ cniVersion: "9.9.9" }), 1],
    ["no cniVersion", JSON.stringify({ name: "net", type: "t" }), 1],
  ])("%s → code %p, handler not called", async (_what, stdin, code) => {
    const r = await call("ADD", stdin);
    expect([r.code, r.json.code]).toEqual([1, code]);
    expect(typeof r.json.msg).toBe("string");
    expect(r.seen).toHaveLength(0);
  });

  test("cniVersions picks the highest supported version when cniVersion is absent", async () => {
    const r = await call(
      "ADD",
      JSON.stringify({ cniVersions: ["0.3.1", "1.0.0", "7.0.0"], name: "n", type: "t" }),
    );
    expect(r.json.cniVersion).toBe("1.0.0");
  });

  test("prevResult of any version arrives in the 1.x shape", async () => {
    const prev = { cniVersion: "0.3.1", ips: [{ version: "4", address: "10.0.0.2/24", interface: 0 }] };
    const r = await call("DEL", conf({ prevResult: prev }));
    expect(r.seen[0].config.prevResult).toEqual({
      cniVersion: "0.3.1",
      ips: [{ address: "10.0.0.2/24", interface: 0 }],
    });
  });

  test("GC and STATUS need config version 1.1.0; GC gets valid attachments", async () => {
    expect((await call("GC", conf())).json.code).toBe(1);
    const attachments = [{ containerID: "a", ifname: "eth0" }];
    const r = await call("GC", conf({ cniVersion: "1.1.0", "cni.dev/valid-attachments": attachments }), {
      CNI_CONTAINERID: undefined,
      CNI_IFNAME: undefined,
    });
    expect(r.code).toBe(0);
    expect(r.seen[0].validAttachments).toEqual(attachments);
    const old = await call("GC", conf({ cniVersion: "1.1.0", "cni.dev/attachments": attachments }));
    expect(old.seen[0].validAttachments).toEqual(attachments);
    expect((await call("STATUS", conf({ cniVersion: "1.1.0" }))).code).toBe(0);
  });

  test("VERSION answers the supported versions without needing a valid config", async () => {
    const r = await call("VERSION", "not json");
    expect(r.json).toEqual({
      cniVersion: "1.1.0",
      supportedVersions: ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"],
    });
  });

  test("a handler's CniError keeps its code; anything else is 999", async () => {
    const h: PluginHandlers = {
      add: () => {
        throw new CniError(11, "busy", "later");
      },
      del: () => {
        throw new Error("boom");
      },
      check: () => {},
    };
    const env = { ...ENV, CNI_COMMAND: "ADD" };
    const a = await invoke(h, "", env, () => Promise.resolve(conf()));
    expect(JSON.parse(a.stdout)).toEqual({ cniVersion: "1.0.0", code: 11, msg: "busy", details: "later" });
    const d = await invoke(h, "", { ...env, CNI_COMMAND: "DEL" }, () => Promise.resolve(conf()));
    expect(JSON.parse(d.stdout)).toMatchObject({ code: 999, msg: "boom" });
  });
});

describe("result versions", () => {
  const v1: Result = {
    cniVersion: "1.1.0",
    interfaces: [{ name: "eth0", mac: "02:00:00:00:00:01", sandbox: "/x" }],
    ips: [{ address: "10.0.0.2/24", gateway: "10.0.0.1", interface: 0 }, { address: "fd00::2/64" }],
    routes: [{ dst: "0.0.0.0/0", gw: "10.0.0.1" }],
  };
  test.each(["0.3.0", "0.3.1", "0.4.0"] as const)("%s adds ips[].version and round-trips", (v) => {
    const old = convertResult(v1, v);
    expect(old.ips!.map((i) => i.version)).toEqual(["4", "6"]);
    expect(parseResult(old)).toEqual({ ...v1, cniVersion: v });
  });
  test("a 0.2.0 prevResult (ip4/ip6) is understood", () => {
    const r = parseResult({
      cniVersion: "0.2.0",
      ip4: { ip: "10.0.0.2/24", gateway: "10.0.0.1", routes: [{ dst: "0.0.0.0/0" }] },
    });
    expect(r.ips).toEqual([{ address: "10.0.0.2/24", gateway: "10.0.0.1" }]);
    expect(r.routes).toEqual([{ dst: "0.0.0.0/0" }]);
  });
});

describe("address math", () => {
  test.each([
    ["10.0.0.1", "10.0.0.1"],
    ["fd00:0:0:0:0:0:0:1", "fd00::1"],
    ["FD00::0:1", "fd00::1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["::", "::"],
    ["::ffff:10.1.2.3", "10.1.2.3"],
    ["1:0:0:2:0:0:0:3", "1:0:0:2::3"],
    ["fd00:1:2:3:4:5:6:7", "fd00:1:2:3:4:5:6:7"],
  ])("%s prints as %s (Go's net.IP text, host-local's file names)", (text, canonical) => {
    expect(formatIp(parseIp(text)!)).toBe(canonical);
  });
  test.each(["10.0.0", "10.0.0.256", "010.0.0.1", "fd00:::1", "1:2:3:4:5:6:7:8:9", "x"])(
    "%s is not an address",
    (t) => {
      expect(parseIp(t)).toBeUndefined();
    },
  );
  test("CIDRs", () => {
    expect(parseCidr("10.0.0.0/33")).toBeUndefined();
    expect(parseCidr("fd00::/64")?.prefix).toBe(64);
  });
});

describe("skeleton through the compiled binary, next to the reference", () => {
  beforeAll(ensurePlugins);

  test.each([
    ["malformed JSON", "{", 6],
    ["unknown cniVersion", JSON.stringify({ cniVersion: "9.9.9", name: "n", type: "loopback" }), 1],
  ])("%s: both fail with code %p on stdout", async (_what, config, code) => {
    for (const exe of [cnilab("loopback"), reference("loopback")]) {
      const r = await runPlugin(exe, {
        command: "ADD",
        containerId: "c1",
        netns: "/proc/self/ns/net",
        ifname: "lo",
        config,
      });
      expect(r.code).not.toBe(0);
      expect(r.json?.code).toBe(code);
    }
  });

  test("VERSION lists 1.1.0; without CNI_COMMAND the binary says what it is", async () => {
    const v = await runPlugin(cnilab("host-local"), { command: "VERSION", config: { cniVersion: "1.0.0" } });
    expect(v.json).toEqual({
      cniVersion: "1.0.0",
      supportedVersions: ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"],
    });
    const about = await runPlugin(cnilab("host-local"), {
      command: "VERSION",
      config: "",
      env: { CNI_COMMAND: undefined },
    });
    expect(about.code).toBe(0);
    expect(about.stderr).toContain("host-local");
  });

  test("the binary run under another name refuses with code 4", () => {
    const proc = Bun.spawnSync(["/bin/bash", "-c", `exec -a cnilab-nonesuch ${cnilab("loopback")}`], {
      env: { CNI_COMMAND: "VERSION" },
      stdin: new TextEncoder().encode("{}"),
    });
    expect(proc.exitCode).toBe(1);
    expect(JSON.parse(proc.stdout.toString()).code).toBe(4);
  });
});
