// The iproute2 layer against the real kernel: every operation is checked by reading the state back.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  addr,
  batch,
  batchReport,
  commands,
  isExists,
  isNoDevice,
  link,
  netns,
  parseAddresses,
  parseLinks,
  route,
  routeGet,
} from "../lib/iproute2/mod.ts";
import { Owner } from "../lib/ownership/mod.ts";
import { spawnDetached } from "../lib/shell/mod.ts";
import { hex } from "./helpers.ts";

let owner: Owner;
const id = hex();
const ns1 = `tip-a-${id}`;
const ns2 = `tip-b-${id}`;

beforeAll(async () => {
  owner = await Owner.begin("test", "iproute2");
  await owner.createNetns(ns1);
  await owner.createNetns(ns2);
});

afterAll(async () => {
  await owner.release();
});

describe("netns", () => {
  test("add, list, exists, exec and del", async () => {
    const name = `tip-x-${id}`;
    await owner.createNetns(name);
    expect((await netns.list()).map((n) => n.name)).toContain(name);
    expect(await netns.exists(name)).toBe(true);
    const r = await netns.exec(name, ["ip", "-o", "link", "show"]);
    expect(r.stdout).toContain("lo:");
    expect(r.stdout).not.toContain("eth0");
    await netns.del(name);
    expect(await netns.exists(name)).toBe(false);
  });

  test("attach names a process's namespace; pids lists the processes in it", async () => {
    const name = `tip-p-${id}`;
    const pid = await spawnDetached(["unshare", "--net", "--", "sleep", "30"], { env: owner.env });
    await owner.record({ kind: "process", pid, start: 0 });
    // wait for unshare to exec into sleep with its own namespace
    for (let i = 0; i < 100; i++) {
      const { readlinkSync } = await import("node:fs");
      if (readlinkSync(`/proc/${pid}/ns/net`) !== readlinkSync("/proc/self/ns/net")) break;
      await Bun.sleep(5);
    }
    await owner.record({ kind: "netns", name });
    await netns.attach(name, pid);
    expect(await netns.exists(name)).toBe(true);
    expect(await netns.pids(name)).toContain(pid);
    process.kill(pid, "SIGKILL");
    await netns.del(name);
  });
});

describe("link", () => {
  test("veth pair with the peer created directly inside a namespace", async () => {
    const host = `tv${id}`;
    await owner.record({ kind: "link", name: host });
    await batch([
      commands.vethAdd(host, "eth0", { peerNetns: ns1, mtu: 1400 }),
      commands.linkAlias(host, owner.mark),
    ]);
    const h = await link.get(host);
    const inside = await link.get("eth0", { netns: ns1 });
    expect(h?.kind).toBe("veth");
    expect(inside?.kind).toBe("veth");
    expect(inside?.peerIndex).toBe(h?.index);
    expect(h?.mtu).toBe(1400);
    expect(inside?.mtu).toBe(1400);
    expect(h?.alias).toBe(owner.mark);
    // the host has an eth0 of its own; the pod end did not land next to it
    expect((await link.get("eth0"))?.kind).not.toBe("veth");
  });

  test("bridge, master, up/down, MTU, alias", async () => {
    const br = `tb${id}`;
    const v = `tw${id}`;
    await owner.record({ kind: "link", name: br, netns: ns2 });
    await link.addBridge(br, { netns: ns2 });
    await link.addVeth(v, `${v}p`, { netns: ns2 });
    await link.setMaster(v, br, { netns: ns2 });
    await link.up(br, { netns: ns2 });
    await link.setMtu(v, 1300, { netns: ns2 });
    await link.setAlias(br, "hello world", { netns: ns2 });
    const b = await link.get(br, { netns: ns2 });
    const port = await link.get(v, { netns: ns2 });
    expect(b?.kind).toBe("bridge");
    expect(b?.up).toBe(true);
    expect(b?.alias).toBe("hello world");
    expect(port?.master).toBe(br);
    expect(port?.mtu).toBe(1300);
    await link.down(br, { netns: ns2 });
    expect((await link.get(br, { netns: ns2 }))?.up).toBe(false);
    await link.del(v, { netns: ns2 });
    expect(await link.get(`${v}p`, { netns: ns2 })).toBeUndefined();
  });

  test("move a link between namespaces", async () => {
    const a = `tm${id}`;
    await link.addVeth(a, `${a}p`, { netns: ns1 });
    await link.moveToNetns(a, ns2, { netns: ns1 });
    expect(await link.get(a, { netns: ns1 })).toBeUndefined();
    expect((await link.get(a, { netns: ns2 }))?.kind).toBe("veth");
    await link.del(a, { netns: ns2 });
  });
});

describe("addresses and routes", () => {
  test("IPv4 and IPv6 addresses, a default route, read back as typed objects", async () => {
    const v = `ta${id}`;
    await link.addVeth(v, "eth1", { netns: ns2, peerNetns: ns1 });
    await batch([
      commands.addrAdd("eth1", "10.77.0.2/24"),
      commands.addrAdd("eth1", "fd77::2/64"),
      commands.linkUp("eth1"),
      commands.routeAdd({ dst: "default", via: "10.77.0.1", dev: "eth1" }),
    ], { netns: ns1 });
    const v4 = await addr.list({ netns: ns1, dev: "eth1", family: 4 });
    expect(v4).toEqual([{
      dev: "eth1",
      family: 4,
      cidr: "10.77.0.2/24",
      local: "10.77.0.2",
      prefixLength: 24,
      scope: "global",
    }]);
    const v6 = (await addr.list({ netns: ns1, dev: "eth1", family: 6 })).map((a) => a.cidr);
    expect(v6).toContain("fd77::2/64");
    const routes = await route.list({ netns: ns1 });
    expect(routes.find((r) => r.dst === "default")).toMatchObject({ via: "10.77.0.1", dev: "eth1" });
    expect(routes.find((r) => r.dst === "10.77.0.0/24")).toMatchObject({ dev: "eth1", src: "10.77.0.2" });
    await route.del({ dst: "default", via: "10.77.0.1" }, { netns: ns1 });
    expect((await route.list({ netns: ns1 })).some((r) => r.dst === "default")).toBe(false);
    await addr.del("eth1", "10.77.0.2/24", { netns: ns1 });
    expect(await addr.list({ netns: ns1, dev: "eth1", family: 4 })).toEqual([]);
  });

  test("routeGet answers the kernel's lookup: the device and source, or why there is no route", async () => {
    const v = `tg${id}`;
    await link.addVeth(v, "eth2", { netns: ns2, peerNetns: ns1, mtu: 1400 });
    expect((await link.get(v, { netns: ns2 }))?.mtu).toBe(1400);
    expect((await link.get("eth2", { netns: ns1 }))?.mtu).toBe(1400);
    await batch([commands.addrAdd("eth2", "10.78.0.2/24"), commands.linkUp("eth2")], { netns: ns1 });
    expect(await routeGet("10.78.0.9", { netns: ns1 })).toMatchObject({
      ok: true,
      dev: "eth2",
      prefsrc: "10.78.0.2",
    });
    const none = await routeGet("10.99.0.1", { netns: ns1 });
    expect(none.ok).toBe(false);
    expect(none.error).toMatch(/unreachable/i);
    await link.del("eth2", { netns: ns1 });
  });

  test("batchReport says which line failed and what ip said, and parses what `show` printed", async () => {
    const ok = await batchReport([["link", "set", "lo", "up"], ["addr", "show", "dev", "lo"], [
      "link",
      "show",
      "dev",
      "lo",
    ]], {
      netns: ns2,
    });
    expect(ok.ok).toBe(true);
    expect(parseAddresses(ok.shown[0]).map((a) => a.cidr)).toContain("127.0.0.1/8");
    expect(parseLinks(ok.shown[1])[0]).toMatchObject({ name: "lo", up: true });
    const bad = await batchReport([["link", "set", "lo", "up"], [
      "link",
      "add",
      "name",
      "lo",
      "type",
      "bridge",
    ]], {
      netns: ns2,
    });
    expect(bad).toMatchObject({ ok: false, failedAt: 1 });
    expect(isExists(bad.error)).toBe(true);
    const gone = await batchReport([["link", "del", "nosuchdev1"]], { netns: ns2 });
    expect(isNoDevice(gone.error)).toBe(true);
  });

  test("a failing command in a batch stops the batch and says which", async () => {
    await expect(batch([commands.linkUp("lo"), commands.linkUp("nosuchdev0")], { netns: ns2 })).rejects
      .toThrow(
        /nosuchdev0/,
      );
  });
});
