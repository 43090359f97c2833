/**
 * The encoder against the bytes `ip` sends for the same request (tests/netlink/fixtures, recorded with
 * strace by record-fixtures.ts). Sequence numbers and port ids are zeroed on both sides; ifindexes and
 * the netns fd are the ones `ip` used, read from the fixture's header. Also: the trace line each request
 * decodes to, and the answers' parsers on bytes the kernel sends.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import {
  addAddress,
  delAddress,
  dumpAddresses,
  parseAddress,
  replaceAddress,
} from "../../lib/netlink/address.ts";
import {
  delLink,
  dumpLinks,
  getLink,
  newLink,
  parseLink,
  setHairpin,
  setLink,
} from "../../lib/netlink/link.ts";
import { addRoute, appendRoute, delRoute, dumpRoutes, replaceRoute } from "../../lib/netlink/route.ts";
import { describeRequest, ipEquivalent } from "../../lib/netlink/trace.ts";
import type { MessageBuilder } from "../../lib/netlink/_wire.ts";
import { strerror } from "../../lib/netlink/mod.ts";

const DIR = new URL("./fixtures/", import.meta.url).pathname;

interface Fixture {
  command: string;
  bytes: Uint8Array;
  index: Record<string, number>;
  netnsFd?: number;
}

function fixture(name: string): Fixture {
  const lines = readFileSync(`${DIR}${name}.txt`, "utf8").split("\n");
  const hex = lines.filter((l) => l && !l.startsWith("#")).join(" ").trim().split(/\s+/);
  const all = Uint8Array.from(hex, (h) => parseInt(h, 16));
  const len = new DataView(all.buffer).getUint32(0, true);
  const bytes = all.slice(0, len); // `ip` sends dump requests in a bigger buffer
  bytes.fill(0, 8, 16); // sequence number and port id
  const index = Object.fromEntries(
    (lines.find((l) => l.startsWith("# ifindex "))?.slice(10).split(" ") ?? []).map((kv) => {
      const [k, v] = kv.split("=");
      return [k, Number(v)];
    }),
  );
  const fd = lines.find((l) => l.startsWith("# netns-fd "));
  return { command: lines[0].slice(2), bytes, index, netnsFd: fd ? Number(fd.slice(11)) : undefined };
}

const hexOf = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(" ");

/** Each fixture, the request cnilab builds for it, and the trace line that request decodes to. */
const CASES: [string, (f: Fixture) => MessageBuilder, string][] = [
  [
    "link-add-bridge",
    () => newLink({ kind: "bridge", name: "br1", mtu: 1400, mac: "02:00:00:00:00:01" }),
    "RTM_NEWLINK bridge br1 mtu 1400 address 02:00:00:00:00:01",
  ],
  [
    "link-add-veth",
    (f) =>
      newLink({
        kind: "veth",
        name: "vethab12cd34",
        txqlen: 0,
        mtu: 1400,
        up: true,
        master: f.index.br0,
        peer: { name: "eth0", txqlen: 0, mtu: 1400, mac: "02:00:00:00:00:02", netnsFd: f.netnsFd },
      }),
    "RTM_NEWLINK veth vethab12cd34 txqlen 0 mtu 1400 up master br0 peer eth0 txqlen 0 mtu 1400 address 02:00:00:00:00:02 in netns fd 4",
  ],
  ["link-set-up", (f) => setLink(f.index.br0, { up: true }), "RTM_NEWLINK dev br0 up"],
  ["link-set-down", () => setLink(7, { up: false }), "RTM_NEWLINK dev if7 down"],
  ["link-set-promisc", (f) => setLink(f.index.br0, { promisc: true }), "RTM_NEWLINK dev br0 promisc on"],
  ["link-set-mtu", (f) => setLink(f.index.br0, { mtu: 1400 }), "RTM_NEWLINK dev br0 mtu 1400"],
  [
    "link-set-mac",
    (f) => setLink(f.index.br0, { mac: "02:00:00:00:00:03" }),
    "RTM_NEWLINK dev br0 address 02:00:00:00:00:03",
  ],
  [
    "link-set-alias",
    (f) => setLink(f.index.br0, { alias: "cnilab test" }),
    'RTM_NEWLINK dev br0 alias "cnilab test"',
  ],
  ["link-set-master", (f) => setLink(f.index.d0, { master: f.index.br0 }), "RTM_NEWLINK dev d0 master br0"],
  ["link-set-hairpin", (f) => setHairpin(f.index.d0, true), "RTM_SETLINK dev d0 hairpin on"],
  ["link-get", () => getLink("br0"), "RTM_GETLINK dev br0"],
  ["link-dump", () => dumpLinks(), "RTM_GETLINK dump"],
  ["link-del", () => delLink(7), "RTM_DELLINK dev if7"],
  [
    "addr-add-v4",
    (f) => addAddress({ index: f.index.d1, cidr: "10.250.1.2/24", broadcast: true }),
    "RTM_NEWADDR 10.250.1.2/24 brd 10.250.1.255 dev d1",
  ],
  [
    "addr-replace-v4",
    (f) => replaceAddress({ index: f.index.br0, cidr: "10.250.1.1/24", broadcast: true }),
    "RTM_NEWADDR replace 10.250.1.1/24 brd 10.250.1.255 dev br0",
  ],
  [
    "addr-add-v6",
    (f) => addAddress({ index: f.index.d1, cidr: "fd00:1::2/64", broadcast: true }),
    "RTM_NEWADDR fd00:1::2/64 dev d1",
  ],
  [
    "addr-del-v4",
    (f) => delAddress({ index: f.index.d1, cidr: "10.250.1.2/24" }),
    "RTM_DELADDR 10.250.1.2/24 dev d1",
  ],
  ["addr-dump", () => dumpAddresses(), "RTM_GETADDR dump"],
  [
    "route-append-v4",
    (f) => appendRoute({ dst: "10.250.2.0/24", gateway: "10.250.1.1", index: f.index.d1 }),
    "RTM_NEWROUTE append 10.250.2.0/24 via 10.250.1.1 dev d1",
  ],
  [
    "route-append-metrics",
    (f) =>
      appendRoute({
        dst: "10.250.4.0/24",
        gateway: "10.250.1.1",
        index: f.index.d1,
        metric: 20,
        mtu: 1400,
        advmss: 1360,
      }),
    "RTM_NEWROUTE append 10.250.4.0/24 via 10.250.1.1 dev d1 metric 20 mtu 1400 advmss 1360",
  ],
  [
    "route-replace-default",
    (f) => replaceRoute({ dst: "default", gateway: "10.250.1.1", index: f.index.d1 }),
    "RTM_NEWROUTE replace default via 10.250.1.1 dev d1",
  ],
  [
    "route-add-table-scope",
    (f) => addRoute({ dst: "10.250.3.0/24", index: f.index.d1, scope: 253, table: 100 }),
    "RTM_NEWROUTE 10.250.3.0/24 dev d1 table 100 scope link",
  ],
  [
    "route-append-v6",
    (f) => appendRoute({ dst: "fd00:2::/64", gateway: "fd00:1::1", index: f.index.d1 }),
    "RTM_NEWROUTE append fd00:2::/64 via fd00:1::1 dev d1",
  ],
  [
    "route-del-v4",
    (f) => delRoute({ dst: "10.250.2.0/24", gateway: "10.250.1.1", index: f.index.d1 }),
    "RTM_DELROUTE 10.250.2.0/24 via 10.250.1.1 dev d1",
  ],
  ["route-dump-v4", () => dumpRoutes(4), "RTM_GETROUTE dump inet table 254"],
];

describe("requests are the bytes `ip` sends", () => {
  for (const [name, build, line] of CASES) {
    test(name, () => {
      const f = fixture(name);
      const mine = build(f).finish(0);
      expect({ command: f.command, bytes: hexOf(mine) }).toEqual({
        command: f.command,
        bytes: hexOf(f.bytes),
      });
      const names = new Map(Object.entries(f.index).map(([k, v]) => [v, k]));
      expect(describeRequest(mine, names)).toBe(line);
    });
  }
});

describe("the `ip` command a person would type for each request", () => {
  for (const [name, build] of CASES) {
    test(name, () => {
      const f = fixture(name);
      const names = new Map(Object.entries(f.index).map(([k, v]) => [v, k]));
      const line = `${describeRequest(build(f).finish(0), names)} → ok`;
      // same words as the recorded command (argv order is free, the alias is quoted for a shell);
      // `broadcast +` is computed; br1, made by an earlier command, is if7 to the encoder
      const words = (cmd: string) => cmd.split(" ").sort();
      const command = name === "link-add-bridge" ? f.command : f.command.replace("br1", "if7");
      const recorded = command.replace("broadcast +", "broadcast 10.250.1.255");
      expect(words(ipEquivalent(line, "/run/netns/t1").replaceAll('"', ""))).toEqual(words(recorded));
    });
  }
});

describe("answers", () => {
  test("an RTM_NEWLINK of a veth parses into name, kind, MTU, MAC, master, peer", () => {
    // the veth request's own attributes, answered back as a link (the kernel's layout is the same)
    const f = fixture("link-add-veth");
    const l = parseLink(f.bytes.subarray(16));
    expect(l).toMatchObject({
      name: "vethab12cd34",
      kind: "veth",
      mtu: 1400,
      master: 2,
      up: true,
      txqlen: 0,
    });
  });

  test("an RTM_NEWADDR parses into the address and its prefix", () => {
    const f = fixture("addr-add-v6");
    expect(parseAddress(f.bytes.subarray(16))).toMatchObject({ family: 6, cidr: "fd00:1::2/64", index: 6 });
  });

  test("errno words are what `ip` prints", () => {
    expect([strerror(17), strerror(19), strerror(2)]).toEqual([
      "File exists",
      "No such device",
      "No such file or directory",
    ]);
  });
});
