/**
 * Records tests/netlink/fixtures/: the bytes `ip` (and `bridge`) send to the kernel for each request the
 * encoder tests compare against. Run once, as root, in a scratch network and mount namespace (it makes
 * bridges, two veth pairs and a namespace in the namespace it runs in; /run/netns must exist):
 *
 *   unshare --net --mount sh -c 'mount -t tmpfs none /run/netns && exec node_modules/.bin/bun tests/netlink/record-fixtures.ts'
 *
 * For each command: `strace -x -s 4096 -e trace=sendmsg,sendto,openat -e write=all ip ...`; the fixture
 * keeps the LAST message of its kind the command sent (others are name lookups, iproute2's start-up probe),
 * strace's own decoding of it as a comment, and the fd `ip` opened a netns path as (IFLA_NET_NS_FD).
 * @module
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";

const DIR = new URL("./fixtures/", import.meta.url).pathname;

/** Fixture name → argv. Run in this order (later ones rely on earlier state). */
const COMMANDS: [string, string[]][] = [
  ["link-add-bridge", [
    "ip",
    "link",
    "add",
    "name",
    "br1",
    "mtu",
    "1400",
    "address",
    "02:00:00:00:00:01",
    "type",
    "bridge",
  ]],
  ["link-add-veth", [
    "ip",
    "link",
    "add",
    "name",
    "vethab12cd34",
    "txqueuelen",
    "0",
    "mtu",
    "1400",
    "up",
    "master",
    "br0",
    "type",
    "veth",
    "peer",
    "name",
    "eth0",
    "txqueuelen",
    "0",
    "mtu",
    "1400",
    "address",
    "02:00:00:00:00:02",
    "netns",
    "/run/netns/t1",
  ]],
  ["link-set-up", ["ip", "link", "set", "dev", "br0", "up"]],
  ["link-set-down", ["ip", "link", "set", "dev", "br1", "down"]],
  ["link-set-promisc", ["ip", "link", "set", "dev", "br0", "promisc", "on"]],
  ["link-set-mtu", ["ip", "link", "set", "dev", "br0", "mtu", "1400"]],
  ["link-set-mac", ["ip", "link", "set", "dev", "br0", "address", "02:00:00:00:00:03"]],
  ["link-set-alias", ["ip", "link", "set", "dev", "br0", "alias", "cnilab test"]],
  ["link-set-master", ["ip", "link", "set", "dev", "d0", "master", "br0"]],
  ["link-set-hairpin", ["bridge", "link", "set", "dev", "d0", "hairpin", "on"]],
  ["link-get", ["ip", "link", "show", "dev", "br0"]],
  ["link-dump", ["ip", "link", "show"]],
  ["addr-add-v4", ["ip", "addr", "add", "10.250.1.2/24", "broadcast", "+", "dev", "d1"]],
  ["addr-replace-v4", ["ip", "addr", "replace", "10.250.1.1/24", "broadcast", "+", "dev", "br0"]],
  ["addr-add-v6", ["ip", "addr", "add", "fd00:1::2/64", "dev", "d1"]],
  ["addr-dump", ["ip", "addr", "show"]],
  ["route-append-v4", ["ip", "route", "append", "10.250.2.0/24", "via", "10.250.1.1", "dev", "d1"]],
  ["route-append-metrics", [
    "ip",
    "route",
    "append",
    "10.250.4.0/24",
    "via",
    "10.250.1.1",
    "dev",
    "d1",
    "metric",
    "20",
    "mtu",
    "1400",
    "advmss",
    "1360",
  ]],
  ["route-replace-default", ["ip", "route", "replace", "default", "via", "10.250.1.1", "dev", "d1"]],
  ["route-add-table-scope", [
    "ip",
    "route",
    "add",
    "10.250.3.0/24",
    "dev",
    "d1",
    "scope",
    "link",
    "table",
    "100",
  ]],
  ["route-append-v6", ["ip", "route", "append", "fd00:2::/64", "via", "fd00:1::1", "dev", "d1"]],
  ["route-del-v4", ["ip", "route", "del", "10.250.2.0/24", "via", "10.250.1.1", "dev", "d1"]],
  ["route-dump-v4", ["ip", "-4", "route", "show"]],
  ["addr-del-v4", ["ip", "addr", "del", "10.250.1.2/24", "dev", "d1"]],
  ["link-del", ["ip", "link", "del", "dev", "br1"]],
];

function sh(argv: string[]): string {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

// the world the commands act on (an iso namespace of its own): a bridge, two veth pairs, a netns
sh(["ip", "link", "add", "br0", "type", "bridge"]);
sh(["ip", "link", "add", "d0", "type", "veth", "peer", "name", "d0p"]);
sh(["ip", "link", "add", "d1", "type", "veth", "peer", "name", "d1p"]);
for (const dev of ["d1", "d1p"]) sh(["ip", "link", "set", dev, "up"]);
sh(["ip", "netns", "add", "t1"]);
const indexes = (JSON.parse(sh(["ip", "-j", "link", "show"])) as { ifname: string; ifindex: number }[])
  .map((l) => `${l.ifname}=${l.ifindex}`).join(" ");

mkdirSync(DIR, { recursive: true });
for (const [name, argv] of COMMANDS) {
  const r = spawnSync("strace", [
    "-x",
    "-s",
    "4096",
    "-e",
    "trace=sendmsg,sendto,openat",
    "-e",
    "write=all",
    ...argv,
  ], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${argv.join(" ")} failed: ${r.stderr.slice(-400)}`);
  const lines = r.stderr.split("\n");
  let decoded = "";
  let hex: string[] = [];
  let netnsFd: number | undefined;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    const open = l.match(/^openat\(.*"\/run\/netns\/[^"]+".*\) = (\d+)$/);
    if (open) netnsFd = Number(open[1]);
    if (!/^(sendmsg|sendto)\(/.test(l)) continue;
    // an addr/route command also resolves names (RTM_GETLINK): keep the message the fixture is about
    const family = name.startsWith("addr") ? "ADDR" : name.startsWith("route") ? "ROUTE" : "LINK";
    if (!new RegExp(`nlmsg_type=RTM_[A-Z]+${family}`).test(l)) continue;
    const bytes: string[] = [];
    for (let j = i + 1; j < lines.length && /^ [|*] /.test(lines[j]); j++) {
      const m = lines[j].match(/^ \| [0-9a-f]{5} {2}(.{48})/);
      if (m) bytes.push(...m[1].trim().split(/\s+/).filter(Boolean));
    }
    if (bytes.length > 0) {
      decoded = l;
      hex = bytes;
    }
  }
  const rows: string[] = [];
  for (let i = 0; i < hex.length; i += 16) rows.push(hex.slice(i, i + 16).join(" "));
  writeFileSync(
    `${DIR}${name}.txt`,
    [
      `# ${argv.join(" ")}`,
      `# ifindex ${indexes}`,
      ...(netnsFd !== undefined ? [`# netns-fd ${netnsFd}`] : []),
      `# strace: ${decoded}`,
      ...rows,
      "",
    ].join("\n"),
  );
  console.log(`${name}: ${hex.length} bytes`);
}
