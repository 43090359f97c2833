// `cnilab show` and `--transcript` draw what the kernel reports: compared here with ip -json directly.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { BRIDGE } from "../labs/network-namespace-lifecycle.ts";
import { cli } from "./helpers.ts";

interface RawLink {
  ifname: string;
  ifindex: number;
  link_index?: number;
  link_netnsid?: number;
  master?: string;
  addr_info?: { local: string; prefixlen: number; scope: string }[];
}
function ipJson(args: string[]): RawLink[] {
  return JSON.parse(Bun.spawnSync(["ip", "-json", ...args]).stdout.toString() || "[]");
}

let pods: { ns: string; id: number }[] = [];

beforeAll(async () => {
  const r = await cli(["run", "2.5", "--keep"]);
  expect(r.code).toBe(0);
  pods = (JSON.parse(Bun.spawnSync(["ip", "-json", "netns", "list"]).stdout.toString()) as {
    name: string;
    id: number;
  }[])
    .filter((n) => n.name.startsWith("cni-") && r.stdout.includes(n.name)).map((n) => ({
      ns: n.name,
      id: n.id,
    }));
  expect(pods.length).toBe(2);
});

afterAll(async () => {
  await cli(["clean"]);
});

describe("cnilab show", () => {
  test("--json matches ip -json: addresses in each pod, veth pairs matched end to end", async () => {
    const r = await cli(["show", "--json", "--netns", "cni-"]);
    expect(r.code).toBe(0);
    const t = JSON.parse(r.stdout) as {
      host: { links: { name: string; master?: string; peer?: string }[] };
      namespaces: {
        name: string;
        processes: { comm: string }[];
        links: { name: string; addresses: string[]; peer?: string }[];
      }[];
    };
    const hostPorts = ipJson(["link", "show", "master", BRIDGE]);
    expect(hostPorts.length).toBe(2);
    for (const pod of pods) {
      const drawn = t.namespaces.find((n) => n.name === pod.ns)!;
      const eth0 = ipJson(["-n", pod.ns, "addr", "show", "dev", "eth0"])[0];
      const real = eth0.addr_info!.filter((a) => a.scope !== "link").map((a) => `${a.local}/${a.prefixlen}`);
      expect(drawn.links.find((l) => l.name === "eth0")!.addresses).toEqual(real);
      expect(drawn.processes.map((p) => p.comm)).toContain("pause");
      // the host port whose peer is this pod's eth0, according to the kernel
      const port = hostPorts.find((p) => p.link_netnsid === pod.id && p.link_index === eth0.ifindex)!;
      expect(t.host.links.find((l) => l.name === port.ifname)?.peer).toBe(`${pod.ns}/eth0`);
      expect(drawn.links.find((l) => l.name === "eth0")!.peer).toBe(`host/${port.ifname}`);
    }
  });

  test("--mermaid draws every real bridge port and veth pair", async () => {
    const r = await cli(["show", "--mermaid", "--netns", "cni-"]);
    expect(r.code).toBe(0);
    expect(r.stdout.startsWith("flowchart LR")).toBe(true);
    const id = (s: string) => s.replace(/[^A-Za-z0-9_]/g, "_");
    for (const port of ipJson(["link", "show", "master", BRIDGE])) {
      expect(r.stdout).toContain(`host_${port.ifname} --- host_${BRIDGE}`);
      const pod = pods.find((p) => p.id === port.link_netnsid)!;
      expect(r.stdout).toContain(`host_${port.ifname} <-->|veth| ${id(pod.ns)}_eth0`);
    }
  });

  test("text: right tree glyphs, namespaces by short id, processes only with --processes", async () => {
    const r = await cli(["show", "--netns", "cni-"]);
    expect(r.code).toBe(0);
    const lines = r.stdout.split("\n");
    const ports = lines.filter((l) => /port veth/.test(l));
    expect(ports.length).toBe(2);
    // the bridge is the host's only child here; its first port ├─, its last └─
    expect(ports[0]).toMatch(/^ {3}├─ port veth[0-9a-f]{8} \(veth\) {2}⇄ cni-[0-9a-f]{8}\/eth0$/);
    expect(ports[1]).toMatch(/^ {3}└─ port veth[0-9a-f]{8} \(veth\) {2}⇄ cni-[0-9a-f]{8}\/eth0$/);
    expect(lines).toContain(
      `└─ ${BRIDGE} (bridge) ${lines.find((l) => l.includes(BRIDGE))!.split("(bridge) ")[1]}`,
    );
    for (const pod of pods) {
      const head = lines.findIndex((l) => l === `netns ${pod.ns.slice(0, 12)}`);
      expect(head).toBeGreaterThan(0);
      // its last child is drawn └─, the others ├─
      let end = head + 1;
      while (end < lines.length && /^[├└]─ /.test(lines[end])) end++;
      const children = lines.slice(head + 1, end);
      expect(children.length).toBeGreaterThan(2);
      expect(children.slice(0, -1).every((l) => l.startsWith("├─ "))).toBe(true);
      expect(children.at(-1)!.startsWith("└─ ")).toBe(true);
    }
    expect(r.stdout).not.toContain("pause");
    const withProcs = await cli(["show", "--netns", "cni-", "--processes"]);
    expect(withProcs.stdout).toMatch(/netns cni-[0-9a-f]{8} {2}\[pause \d+\]/);
  });
});
