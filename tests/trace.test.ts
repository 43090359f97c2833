// `cnilab trace` on a real topology the test builds and marks as its own: two pods on a bridge (veth pairs,
// gateway on the bridge), and an "outside" namespace behind the host, reached through masquerade. Each case
// asserts what the user sees: the hop sequence, who answered ARP, the rewritten source, the cause and exit
// code of a broken path, a refusal before anything is sent, and that nothing is left behind.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { batch, commands, netns } from "../lib/iproute2/mod.ts";
import { removePodSandbox, runPodSandbox } from "../lib/sandbox/mod.ts";
import { markedProcesses, Owner, setSysctl, STATE_DIR } from "../lib/ownership/mod.ts";
import { run } from "../lib/shell/mod.ts";
import { pcapngBlocks, type TraceReport } from "../lib/trace/mod.ts";
import { cli, CNILAB, hex } from "./helpers.ts";

const id = hex(3);
const BR = `trbr${id}`;
const A = `cni-tra-${id}`;
const B = `cni-trb-${id}`;
const OUT = `trout-${id}`;
const STRANGER = `stranger-${id}`; // a namespace cnilab did not make (not in any journal)
const VA = `tra${id}`;
const VB = `trb${id}`;
const VO = `tro${id}`;
const NET = "10.251.7";
const OUTNET = "10.252.7";
let owner: Owner;

/** tcpdump processes that run (a zombie is gone: under iso, orphans wait for a pid 1 that never reaps). */
async function tcpdumps(): Promise<number> {
  const ps = (await run(["ps", "-eo", "stat=,comm="], { purpose: "read" })).stdout.split("\n");
  return ps.filter((l) => /^[^Z]\S*\s+tcpdump$/.test(l.trim())).length;
}

/**
 * After a case where ARP went unanswered: the pods forget the pending resolution, so the ping the kernel
 * still holds for it is dropped now instead of being sent into the next case when ARP finally succeeds.
 */
async function forgetPending(): Promise<void> {
  for (const ns of [A, B]) await sh(["ip", "-n", ns, "neigh", "flush", "dev", "eth0", "nud", "all"]);
}

async function sh(argv: string[]): Promise<void> {
  await run(argv);
}

async function trace(...args: string[]): Promise<{ code: number; report: TraceReport; stderr: string }> {
  const r = await cli(["trace", ...args, "--json"]);
  let report = {} as TraceReport;
  try {
    report = JSON.parse(r.stdout);
  } catch {
    // refused: no report
  }
  return { code: r.code, report, stderr: r.stderr };
}

const seq = (r: TraceReport, direction: string) =>
  r.events.filter((e) => e.direction === direction).map((e) => `${e.hop}:${e.ifname}`);

beforeAll(async () => {
  owner = await Owner.begin("test", "trace.test.ts");
  for (const n of [A, B, OUT]) {
    await owner.createNetns(n);
    await batch([commands.linkUp("lo")], { netns: n });
  }
  await owner.record({ kind: "link", name: BR });
  await batch([
    commands.bridgeAdd(BR),
    commands.linkAlias(BR, owner.mark),
    commands.addrAdd(BR, `${NET}.1/24`),
    commands.linkUp(BR),
  ]);
  for (const [veth, ns, ip] of [[VA, A, `${NET}.2`], [VB, B, `${NET}.3`]]) {
    await owner.record({ kind: "link", name: veth });
    await batch([
      commands.vethAdd(veth, "eth0", { peerNetns: ns }),
      commands.linkAlias(veth, owner.mark),
      commands.linkMaster(veth, BR),
      commands.linkUp(veth),
    ]);
    await batch([
      commands.addrAdd("eth0", `${ip}/24`),
      commands.linkUp("eth0"),
      commands.routeAdd({ dst: "default", via: `${NET}.1` }),
    ], { netns: ns });
  }
  await owner.record({ kind: "link", name: VO });
  await batch([
    commands.vethAdd(VO, "eth0", { peerNetns: OUT }),
    commands.linkAlias(VO, owner.mark),
    commands.addrAdd(VO, `${OUTNET}.1/24`),
    commands.linkUp(VO),
  ]);
  await batch([commands.addrAdd("eth0", `${OUTNET}.2/24`), commands.linkUp("eth0")], { netns: OUT });
  // the node masquerades what leaves the pod network, as the bridge plugin's ipMasq does
  await setSysctl(owner, "net.ipv4.ip_forward", "1");
  const rule = ["POSTROUTING", "-s", `${NET}.0/24`, "!", "-d", `${NET}.0/24`, "-j", "MASQUERADE"];
  await owner.record({
    kind: "undo",
    what: "masquerade rule",
    argv: ["iptables", "-t", "nat", "-D", ...rule],
  });
  await sh(["iptables", "-t", "nat", "-A", ...rule]);
  // a look-alike someone else made: same kind of address, not cnilab's
  await sh(["ip", "netns", "add", STRANGER]);
  await sh(["ip", "-n", STRANGER, "link", "add", "d0", "type", "veth", "peer", "name", "d1"]);
  await sh(["ip", "-n", STRANGER, "addr", "add", "10.253.7.9/24", "dev", "d0"]);
  await sh(["ip", "-n", STRANGER, "link", "set", "d0", "up"]);
});

afterAll(async () => {
  await owner?.release();
  await run(["ip", "netns", "delete", STRANGER], { check: false });
});

describe("cnilab trace: the healthy paths", () => {
  test("pod → pod: ARP answered by the peer, the request crosses the bridge by its FDB, the reply returns", async () => {
    const { code, report } = await trace(A, `${NET}.3`);
    expect(code).toBe(0);
    expect(report.path.map((h) => `${h.ns}/${h.ifname}`)).toEqual([
      `${A}/eth0`,
      `host/${VA}`,
      `host/${BR}`,
      `host/${VB}`,
      `${B}/eth0`,
    ]);
    expect(seq(report, "request")).toEqual(["1:eth0", `2:${VA}`, `3:${BR}`, `4:${VB}`, "5:eth0"]);
    expect(seq(report, "reply")).toEqual(["5:eth0", `4:${VB}`, `3:${BR}`, `2:${VA}`, "1:eth0"]);
    const bridged = report.events.find((e) => e.direction === "request" && e.ifname === BR)!;
    expect(bridged.inferred).toBe(true);
    expect(bridged.action).toContain(`forwarded to ${VB} (FDB:`);
    const arpReply = report.events.find((e) => e.summary.startsWith(`ARP reply ${NET}.3`))!;
    expect(arpReply.ns).toBe(B);
    expect(arpReply.action).toBe(`answered by ${B}/eth0`);
    expect(report.events.find((e) => e.direction === "request" && e.hop === 5)!.action).toContain(
      "delivered",
    );
    expect(report.outcome).toMatchObject({ delivered: true, replied: true });
    // every time is measured from the first packet, in order
    const times = report.events.map((e) => e.timeUs);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(times[0]).toBe(0);
  });

  test("pod → gateway: delivered to the bridge's address on the host", async () => {
    const { code, report } = await trace(A, `${NET}.1`);
    expect(code).toBe(0);
    expect(report.path.map((h) => h.ifname)).toEqual(["eth0", VA, BR]);
    expect(report.events.find((e) => e.direction === "request" && e.ifname === BR)!.action).toBe(
      "delivered to host",
    );
    expect(report.events.find((e) => e.summary.startsWith(`ARP reply ${NET}.1`))!.action).toBe(
      `answered by host/${BR}`,
    );
  });

  test("pod → outside namespace: masquerade rewrites the source, conntrack says so", async () => {
    const { code, report } = await trace(A, `${OUTNET}.2`);
    expect(code).toBe(0);
    expect(report.path.map((h) => `${h.ns}/${h.ifname}`)).toEqual([
      `${A}/eth0`,
      `host/${VA}`,
      `host/${BR}`,
      `host/${VO}`,
      `${OUT}/eth0`,
    ]);
    const arrived = report.events.find((e) => e.direction === "request" && e.ns === OUT)!;
    expect(arrived.ipSrc).toBe(`${OUTNET}.1`); // what the outside sees: the node, not the pod
    expect(arrived.ttl).toBe(63);
    const left = report.events.find((e) => e.direction === "request" && e.hop === 1)!;
    expect(left.ipSrc).toBe(`${NET}.2`);
    expect(report.nat).toMatchObject({ ns: "host", from: `${NET}.2`, to: `${OUTNET}.1` });
    expect(report.nat!.conntrack).toContain(`src=${NET}.2 dst=${OUTNET}.2`);
    const back = report.events.findLast((e) => e.direction === "reply" && e.hop === 1)!;
    expect(back.ipDst).toBe(`${NET}.2`);
  });

  test("host → pod, and a pod to its own loopback", async () => {
    const host = await trace("host", `${NET}.3`);
    expect(host.code).toBe(0);
    expect(host.report.path.map((h) => h.ifname)).toEqual([BR, VB, "eth0"]);
    const lo = await trace(A, "127.0.0.1");
    expect(lo.code).toBe(0);
    expect(lo.report.path.map((h) => `${h.ns}/${h.ifname}`)).toEqual([`${A}/lo`]);
    expect(seq(lo.report, "request")).toEqual(["1:lo"]);
  });

  test("--udp to a closed port: the answer is ICMP port unreachable from the peer", async () => {
    const { code, report } = await trace(A, `${NET}.3`, "--udp", "9");
    expect(code).toBe(0);
    const answer = report.events.find((e) => e.direction === "reply" && e.hop === 1)!;
    expect(answer.summary).toBe("ICMP port unreachable");
    expect(answer.ipSrc).toBe(`${NET}.3`);
  });

  test("--tcp to a closed port: the peer answers the SYN with a RST", async () => {
    const { code, report } = await trace(A, `${NET}.3`, "--tcp", "81");
    expect(code).toBe(0);
    const syn = report.events.find((e) => e.direction === "request" && e.hop === 1)!;
    expect(syn.summary).toMatch(/^TCP \d+ > 81 \[S\]$/);
    const rst = report.events.find((e) => e.direction === "reply" && e.hop === 1)!;
    expect(rst.summary).toMatch(/^TCP 81 > \d+ \[\.?R\.?\]$/);
    expect(rst.ipSrc).toBe(`${NET}.3`);
  });

  test("between two pods of the sandbox runtime, named namespace/name", async () => {
    const a = await runPodSandbox({ name: `trace-a-${id}` });
    try {
      const b = await runPodSandbox({ name: `trace-b-${id}` });
      try {
        const { code, report } = await trace(`default/${a.name}`, `default/${b.name}`);
        expect(code).toBe(0);
        expect(report.from).toMatchObject({
          ns: a.netns.name,
          pod: `default/${a.name}`,
          address: a.status!.ip,
        });
        expect(report.to).toMatchObject({
          ns: b.netns.name,
          pod: `default/${b.name}`,
          address: b.status!.ip,
        });
        expect(report.path.map((h) => h.role)).toEqual([
          "source",
          "veth-peer",
          "bridge",
          "bridge-port",
          "destination",
        ]);
        expect(report.path[2].ifname).toBe("cnilab0");
        const text = await cli(["trace", `default/${a.name}`, `default/${b.name}`]);
        expect(text.stdout).toContain(`trace-a-${id}/eth0`); // pods by name, not by cni-<uuid>
      } finally {
        await removePodSandbox(b.id);
      }
    } finally {
      await removePodSandbox(a.id);
    }
  });

  test("--pcap writes one pcapng, one interface per hop, that tcpdump reads back", async () => {
    const file = `/tmp/cnilab-trace-test-${id}.pcapng`;
    try {
      const r = await cli(["trace", A, `${NET}.3`, "--pcap", file]);
      expect(r.code).toBe(0);
      const blocks = pcapngBlocks(new Uint8Array(readFileSync(file)));
      expect(blocks[0].type).toBe(0x0a0d0d0a);
      expect(blocks.filter((b) => b.type === 1).map((b) => b.name)).toEqual([
        `${A}/eth0`,
        `host/${VA}`,
        `host/${BR}`,
        `host/${VB}`,
        `${B}/eth0`,
      ]);
      const packets = blocks.filter((b) => b.type === 6);
      const read = await run(["tcpdump", "-n", "-r", file], { check: false });
      expect(read.code).toBe(0);
      expect(read.stdout.trim().split("\n").length).toBe(packets.length);
      expect(read.stdout).toContain(`${NET}.2 > ${NET}.3: ICMP echo request`);
      // the echo request was captured on eth0 of both pods and on both bridge ports
      expect(new Set(packets.map((p) => p.iface))).toEqual(new Set([0, 1, 2, 3, 4]));
    } finally {
      rmSync(file, { force: true });
    }
  });

  test("the text output fits 80 columns and shows the hop table", async () => {
    const r = await cli(["trace", A, `${NET}.3`]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines.filter((l) => [...l].length > 80)).toEqual([]);
    expect(r.stdout).toContain(" # namespace/interface        µs  src → dst (IP)");
    expect(r.stdout).toContain(`ICMP echo request id`);
    expect(r.stdout).toContain("✓ answered");
  });
});

describe("cnilab trace: where the packet dies", () => {
  test("interface down: the host end of pod B's veth", async () => {
    await sh(["ip", "link", "set", VB, "down"]);
    try {
      const { code, report } = await trace(A, `${NET}.3`);
      expect(code).toBe(1);
      expect(report.outcome.replied).toBe(false);
      expect(report.outcome.cause).toMatchObject({ kind: "interface-down", ns: "host", ifname: VB });
      expect(report.outcome.lastSeen?.hop).toBeLessThanOrEqual(3);
    } finally {
      await forgetPending();
      await sh(["ip", "link", "set", VB, "up"]);
    }
  });

  test("interface down: pod A's own eth0 (its routes went with it)", async () => {
    await sh(["ip", "-n", A, "link", "set", "eth0", "down"]);
    try {
      const { code, report } = await trace(A, `${NET}.3`);
      expect(code).toBe(1);
      expect(report.outcome.cause).toMatchObject({ kind: "interface-down", ns: A, ifname: "eth0" });
      expect(report.events).toEqual([]);
    } finally {
      await sh(["ip", "-n", A, "link", "set", "eth0", "up"]);
      await sh(["ip", "-n", A, "route", "replace", "default", "via", `${NET}.1`]);
    }
  });

  test("no route: pod A without its default route cannot reach the outside", async () => {
    await sh(["ip", "-n", A, "route", "del", "default"]);
    try {
      const r = await cli(["trace", A, `${OUTNET}.2`]);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain("cause (no-route): no route to");
      const { report } = await trace(A, `${OUTNET}.2`);
      expect(report.outcome.cause).toMatchObject({ kind: "no-route", ns: A });
      expect(report.events).toEqual([]);
    } finally {
      await sh(["ip", "-n", A, "route", "add", "default", "via", `${NET}.1`]);
    }
  });

  test("ARP unanswered: pod B ignores ARP (arp_ignore = 8)", async () => {
    await sh(["ip", "netns", "exec", B, "sysctl", "-qw", "net.ipv4.conf.eth0.arp_ignore=8"]);
    try {
      const { code, report } = await trace(A, `${NET}.3`);
      expect(code).toBe(1);
      expect(report.outcome.cause).toMatchObject({ kind: "arp-unanswered", ns: B, ifname: "eth0" });
      // the question reached pod B: the bridge flooded it there
      expect(report.events.some((e) => e.ns === B && e.summary === `ARP who-has ${NET}.3 tell ${NET}.2`))
        .toBe(
          true,
        );
    } finally {
      await forgetPending();
      await sh(["ip", "netns", "exec", B, "sysctl", "-qw", "net.ipv4.conf.eth0.arp_ignore=0"]);
    }
  });

  test("not forwarded by the bridge: pod B's port is disabled", async () => {
    await sh(["bridge", "link", "set", "dev", VB, "state", "0"]);
    try {
      const { code, report } = await trace(A, `${NET}.3`);
      expect(code).toBe(1);
      expect(report.outcome.cause).toMatchObject({ kind: "not-forwarded-by-bridge", ns: "host", ifname: BR });
      expect(report.outcome.cause!.detail).toContain("port state: disabled");
    } finally {
      await forgetPending();
      await sh(["bridge", "link", "set", "dev", VB, "state", "3"]);
    }
  });

  test("dropped by a firewall rule in pod B, named with its counter", async () => {
    const nft = (...a: string[]) => sh(["ip", "netns", "exec", B, "nft", ...a]);
    await nft("add", "table", "inet", "trtest");
    await nft("add", "chain", "inet", "trtest", "in", "{ type filter hook input priority 0 ; }");
    await nft("add", "rule", "inet", "trtest", "in", "icmp", "type", "echo-request", "counter", "drop");
    try {
      const r = await cli(["trace", A, `${NET}.3`]);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain("cause (dropped-by-firewall)");
      const { report } = await trace(A, `${NET}.3`);
      const cause = report.outcome.cause!;
      expect(cause.kind).toBe("dropped-by-firewall");
      expect(cause.ns).toBe(B);
      expect(cause.rule).toMatchObject({ family: "inet", table: "trtest", chain: "in" });
      expect(cause.rule!.text).toBe("icmp type echo-request counter drop");
      expect(cause.rule!.packets).toBe(2); // one probe per trace, two traces
      expect(report.outcome.lastSeen).toMatchObject({ hop: 5, ns: B, ifname: "eth0" });
    } finally {
      await nft("delete", "table", "inet", "trtest");
    }
  });
});

describe("cnilab trace: safety", () => {
  test("a foreign address is refused before anything is sent: one line, exit 2", async () => {
    // a capture of our own on pod A's eth0 watches for anything addressed to the refused targets
    const watch = Bun.spawn(
      ["ip", "netns", "exec", A, "tcpdump", "-i", "eth0", "-n", "-l", "host 8.8.8.8 or host 10.253.7.9"],
      { stdout: "pipe", stderr: "pipe" },
    );
    const reader = watch.stderr.getReader();
    for (let said = ""; !said.includes("listening on");) {
      said += new TextDecoder().decode((await reader.read()).value);
    }
    for (const target of ["8.8.8.8", "10.253.7.9"]) {
      const r = await cli(["trace", A, target]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr.trim().split("\n")).toEqual([
        `cnilab trace: refusing to trace to ${target}: it is not loopback and no namespace cnilab made holds it (nothing was sent)`,
      ]);
    }
    watch.kill("SIGINT");
    expect((await new Response(watch.stdout).text()).trim()).toBe(""); // not one packet to them left pod A
    const from = await cli(["trace", STRANGER, `${NET}.3`]);
    expect(from.code).toBe(2);
    expect(from.stderr).toContain(`refusing to trace from ${STRANGER}: cnilab did not make that namespace`);
    const bad = await cli(["trace", A, `${NET}.3`, "--tcp", "http"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split("\n").length).toBe(1);
  });

  test("Ctrl-C during a trace: captures stopped, journal gone, exit 130", async () => {
    await sh(["bridge", "link", "set", "dev", VB, "state", "0"]); // the probe now waits its full second
    try {
      const proc = Bun.spawn([CNILAB, "trace", A, `${NET}.3`], { stdout: "pipe", stderr: "pipe" });
      // SIGINT once the captures run (a tcpdump process of this trace exists)
      for (let i = 0; i < 300 && (await tcpdumps()) === 0; i++) await Bun.sleep(10);
      proc.kill("SIGINT");
      expect(await proc.exited).toBe(130);
      expect(await new Response(proc.stderr).text()).toContain("interrupted by SIGINT");
      expect(await tcpdumps()).toBe(0);
      expect(readdirSync(`${STATE_DIR}/owners`)).toEqual([`${owner.id}.jsonl`]);
    } finally {
      await forgetPending();
      await sh(["bridge", "link", "set", "dev", VB, "state", "3"]);
    }
  });

  test("kill -9 during a trace: its captures carry its mark, and cnilab clean stops them", async () => {
    await sh(["bridge", "link", "set", "dev", VB, "state", "0"]);
    try {
      const proc = Bun.spawn([CNILAB, "trace", A, `${NET}.3`], { stdout: "ignore", stderr: "ignore" });
      for (let i = 0; i < 300 && (await tcpdumps()) < 5; i++) await Bun.sleep(10);
      proc.kill("SIGKILL");
      await proc.exited;
      const clean = await cli(["clean"]);
      expect(clean.code).toBe(0);
      expect(clean.stdout).toMatch(/process \d+/);
      expect(await tcpdumps()).toBe(0);
      expect(readdirSync(`${STATE_DIR}/owners`)).toEqual([`${owner.id}.jsonl`]);
      expect(await netns.exists(A)).toBe(true); // the test's own, live run was left alone
    } finally {
      await forgetPending();
      await sh(["bridge", "link", "set", "dev", VB, "state", "3"]);
    }
  });

  test("nothing is left behind: no capture runs, no journal, no file", async () => {
    const tmp = mkdtempSync("/tmp/cnilab-trace-tmp-");
    try {
      const r = await cli(["trace", A, `${NET}.3`], { env: { TMPDIR: tmp } });
      expect(r.code).toBe(0);
      expect(await tcpdumps()).toBe(0);
      expect(markedProcesses().filter((p) => p.owner !== owner.id)).toEqual([]);
      const journals = existsSync(`${STATE_DIR}/owners`) ? readdirSync(`${STATE_DIR}/owners`) : [];
      expect(journals).toEqual([`${owner.id}.jsonl`]);
      expect(readdirSync(tmp)).toEqual([]);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
    expect(await netns.exists(A)).toBe(true);
  });
});
