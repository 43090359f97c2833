/**
 * lib/netlink against the kernel, as root (inside the isolation wrapper): every request is checked by
 * what `ip` shows afterwards, errors by the words `ip` would print. Names are random per run; everything
 * made is removed in afterAll, also when a test failed.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { Netlink, NetlinkError, onTrace } from "../../lib/netlink/mod.ts";
import { randomHex } from "../../lib/util/mod.ts";

const hex = randomHex;

const ID = hex(3);
const BR = `tnlb${ID}`;
const VETH = `tnlv${ID}`;
const NS = `tnl-${ID}`;
const NS_PATH = `/var/run/netns/${NS}`;

function ip(...args: string[]): string {
  const r = spawnSync("ip", args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`ip ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

// deno-lint-ignore no-explicit-any
function ipJson(...args: string[]): any[] {
  return JSON.parse(ip("-j", ...args) || "[]");
}

let nl: Netlink;
const extraLinks: string[] = [];

beforeAll(() => {
  ip("netns", "add", NS);
  nl = Netlink.open();
});

afterAll(() => {
  nl?.close();
  for (const name of [BR, VETH, ...extraLinks]) spawnSync("ip", ["link", "del", name]);
  spawnSync("ip", ["netns", "del", NS]);
});

describe("links", () => {
  test("a bridge and a veth whose peer is created inside another namespace", () => {
    nl.link.add({ kind: "bridge", name: BR, mtu: 1400 });
    const br = nl.link.get(BR)!;
    expect(br).toMatchObject({ name: BR, kind: "bridge", mtu: 1400, up: false });
    const ns = Netlink.open({ netns: NS_PATH });
    try {
      // IFLA_NET_NS_FD: an fd of the namespace file
      const nsFd = openSync(NS_PATH, "r");
      nl.link.add({
        kind: "veth",
        name: VETH,
        txqlen: 0,
        mtu: 1400,
        up: true,
        master: br.index,
        peer: { name: "eth0", txqlen: 0, mtu: 1400, mac: "02:00:00:aa:bb:cc", netnsFd: nsFd },
      });
      closeSync(nsFd);
      const host = ipJson("-d", "link", "show", "dev", VETH)[0];
      expect(host).toMatchObject({ ifname: VETH, master: BR, mtu: 1400, link_netnsid: 0 });
      expect(host.txqlen ?? 0).toBe(0); // `ip` prints no qlen, as for the reference's veths
      const peer = ipJson("-n", NS, "link", "show", "dev", "eth0")[0];
      expect(peer).toMatchObject({ ifname: "eth0", address: "02:00:00:aa:bb:cc", mtu: 1400 });
      // the socket opened in the namespace sees the namespace's links, not the host's
      expect(ns.link.list().map((l) => l.name).sort()).toEqual(["eth0", "lo"]);
      expect(ns.link.get("eth0")).toMatchObject({
        kind: "veth",
        link: host.ifindex,
        mac: "02:00:00:aa:bb:cc",
      });
    } finally {
      ns.close();
    }
    // and the thread is back in the host namespace
    expect(nl.link.get(VETH)?.master).toBe(br.index);
    expect(Netlink.open().link.get(BR)?.index).toBe(br.index);
  });

  test("set: up, MTU, MAC, alias, promiscuity, hairpin", () => {
    const br = nl.link.get(BR)!;
    nl.link.set(br.index, {
      up: true,
      promisc: true,
      mtu: 1300,
      mac: "02:00:00:00:11:22",
      alias: "cnilab test",
    });
    const shown = ipJson("link", "show", "dev", BR)[0];
    expect(shown.flags).toContain("UP");
    expect(shown.flags).toContain("PROMISC");
    expect(shown).toMatchObject({ mtu: 1300, address: "02:00:00:00:11:22", ifalias: "cnilab test" });
    const port = nl.link.get(VETH)!;
    nl.link.hairpin(port.index, true);
    const d = ipJson("-d", "link", "show", "dev", VETH)[0];
    expect(d.linkinfo.info_slave_data.hairpin).toBe(true);
    nl.link.set(br.index, { promisc: false });
    expect(ipJson("link", "show", "dev", BR)[0].flags).not.toContain("PROMISC");
  });

  test("errors say what `ip` says; a missing link is undefined", () => {
    let err: unknown;
    try {
      nl.link.add({ kind: "bridge", name: BR });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NetlinkError);
    expect((err as NetlinkError).code).toBe("EEXIST");
    expect((err as Error).message).toBe(`RTM_NEWLINK bridge ${BR}: File exists`);
    expect(nl.link.get(`nope${ID}`)).toBeUndefined();
    expect(() => nl.link.del(999999)).toThrow("No such device");
  });

  test("a dump of many links comes in several parts and is read to NLMSG_DONE", () => {
    for (let i = 0; i < 60; i++) {
      const name = `tnl${ID}${i.toString(16).padStart(2, "0")}`;
      extraLinks.push(name);
      nl.link.add({ kind: "bridge", name });
    }
    const mine = nl.link.list().map((l) => l.name).sort();
    const theirs = ipJson("link", "show").map((l: { ifname: string }) => l.ifname).sort();
    expect(mine).toEqual(theirs);
    expect(mine.length).toBeGreaterThan(60);
    for (const name of extraLinks.splice(0)) nl.link.del(nl.link.get(name)!.index);
    expect(ipJson("link", "show").some((l: { ifname: string }) => l.ifname.startsWith(`tnl${ID}`))).toBe(
      false,
    );
  });
});

describe("addresses", () => {
  test("add v4 with broadcast and v6, list, replace, delete", () => {
    const br = nl.link.get(BR)!;
    nl.addr.add({ index: br.index, cidr: "10.251.7.1/24", broadcast: true });
    nl.addr.add({ index: br.index, cidr: "fd00:7::1/64" });
    const shown = ipJson("addr", "show", "dev", BR)[0].addr_info;
    expect(shown).toContainEqual(
      expect.objectContaining({ local: "10.251.7.1", prefixlen: 24, broadcast: "10.251.7.255" }),
    );
    expect(shown).toContainEqual(expect.objectContaining({ local: "fd00:7::1", prefixlen: 64 }));
    const mine = nl.addr.list({ index: br.index }).filter((a) => a.scope === "global").map((a) => a.cidr)
      .sort();
    expect(mine).toEqual(["10.251.7.1/24", "fd00:7::1/64"]);
    expect(() => nl.addr.add({ index: br.index, cidr: "10.251.7.1/24" })).toThrow("File exists");
    nl.addr.replace({ index: br.index, cidr: "10.251.7.1/24", broadcast: true }); // no error when present
    nl.addr.del({ index: br.index, cidr: "10.251.7.1/24" });
    expect(nl.addr.list({ index: br.index, family: 4 })).toEqual([]);
    expect(ip("-4", "addr", "show", "dev", BR).trim()).toBe("");
  });
});

describe("routes", () => {
  test("append via a gateway, replace the default, a table and scope, delete", () => {
    const br = nl.link.get(BR)!;
    nl.addr.add({ index: br.index, cidr: "10.251.8.1/24", broadcast: true });
    nl.route.append({ dst: "10.251.9.0/24", gateway: "10.251.8.254", index: br.index, metric: 5 });
    nl.route.replace({ dst: "default", gateway: "10.251.8.254", index: br.index });
    nl.route.add({ dst: "10.251.10.0/24", index: br.index, scope: 253, table: 100 });
    const main = ipJson("route", "show");
    expect(main).toContainEqual(
      expect.objectContaining({ dst: "10.251.9.0/24", gateway: "10.251.8.254", metric: 5 }),
    );
    expect(main).toContainEqual(
      expect.objectContaining({ dst: "default", gateway: "10.251.8.254", dev: BR }),
    );
    expect(ipJson("route", "show", "table", "100")).toContainEqual(
      expect.objectContaining({ dst: "10.251.10.0/24", dev: BR, scope: "link" }),
    );
    const mine = nl.route.list(4).map((r) => `${r.dst} ${r.gateway ?? "-"} ${r.oif === br.index}`);
    expect(mine).toContain("10.251.9.0/24 10.251.8.254 true");
    expect(mine).toContain("default 10.251.8.254 true");
    expect(nl.route.list(4, 100).map((r) => r.dst)).toEqual(["10.251.10.0/24"]);
    expect(() => nl.route.add({ dst: "10.251.9.0/24", gateway: "10.251.8.254", index: br.index, metric: 5 }))
      .toThrow("File exists");
    nl.route.del({ dst: "10.251.9.0/24", gateway: "10.251.8.254", index: br.index });
    expect(ipJson("route", "show").some((r: { dst: string }) => r.dst === "10.251.9.0/24")).toBe(false);
    expect(() => nl.route.del({ dst: "10.251.9.0/24", index: br.index })).toThrow("No such process");
  });
});

describe("trace", () => {
  test("every request and its answer, decoded, one line each", () => {
    const lines: string[] = [];
    const stop = onTrace((l) => lines.push(l));
    try {
      const br = nl.link.get(BR)!;
      nl.addr.add({ index: br.index, cidr: "10.251.11.1/24", broadcast: true });
      expect(() => nl.link.add({ kind: "bridge", name: BR })).toThrow();
    } finally {
      stop();
    }
    expect(lines).toEqual([
      `RTM_GETLINK dev ${BR} → bridge ${BR} index ${nl.link.get(BR)!.index} up`,
      `RTM_NEWADDR 10.251.11.1/24 brd 10.251.11.255 dev ${BR} → ok`,
      `RTM_NEWLINK bridge ${BR} → File exists`,
    ]);
  });
});
