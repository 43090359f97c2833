/**
 * The path a packet will take, computed before anything is sent: the kernel's own route lookup
 * (`ip route get`) in each namespace the packet enters, and the topology `cnilab show` draws
 * (lib/topology: veth pairs matched end to end, bridges and their ports) to follow the cable from one
 * namespace to the next.
 * @module
 */
import { type Link, link, type RouteGet, routeGet as lookupRoute } from "../iproute2/mod.ts";
import { readTopology, type TopoLink, type Topology } from "../topology/mod.ts";
import type { PathHop } from "./_types.ts";

/** `ip route get DST [from SRC iif IIF]` in a namespace of the path ("host" for the host's). */
export function routeGet(ns: string, dst: string, via?: { src: string; iif: string }): Promise<RouteGet> {
  return lookupRoute(dst, { ...where(ns), from: via });
}

/** Why the path computation stopped before the destination. */
export interface PathStop {
  kind: "no-route" | "no-bridge-port" | "unknown-link" | "not-forwarded";
  ns: string;
  ifname?: string;
  detail: string;
}

/** The computed path. */
export interface PlannedPath {
  hops: PathHop[];
  /** The source address the kernel picks. */
  source?: string;
  /** Namespaces that route the packet onward (where NAT and firewalls act). */
  routers: string[];
  /** The next-hop address the source resolves with ARP. */
  firstNextHop?: string;
  /** The path reaches the destination's interface. */
  complete: boolean;
  stop?: PathStop;
  topology: Topology;
  /** Every link (with its MAC) of each namespace on the path, by namespace. */
  links: Map<string, Link[]>;
}

const where = (ns: string) => (ns === "host" ? undefined : { netns: ns });

function nsLinks(t: Topology, ns: string): TopoLink[] {
  return ns === "host" ? t.host.links : t.namespaces.find((n) => n.name === ns)?.links ?? [];
}

function holds(l: TopoLink, ip: string): boolean {
  return l.addresses.some((a) => a.split("/")[0] === ip);
}

/**
 * Computes the path from `fromNs` to `dst`. `namespaces` limits the topology read to the namespaces a trace
 * may look into (cnilab's), which also keeps it fast.
 */
export async function planPath(fromNs: string, dst: string, namespaces: Set<string>): Promise<PlannedPath> {
  const topology = await readTopology({ allHostLinks: true, namespaceFilter: (n) => namespaces.has(n) });
  const hops: PathHop[] = [];
  const routers: string[] = [];
  const linkCache = new Map<string, Link[]>();
  const linksOf = async (ns: string) => {
    if (!linkCache.has(ns)) linkCache.set(ns, await link.list(where(ns)));
    return linkCache.get(ns)!;
  };
  const push = async (ns: string, l: TopoLink, role: PathHop["role"]) => {
    const raw = (await linksOf(ns)).find((x) => x.name === l.name);
    hops.push({
      hop: hops.length + 1,
      ns,
      ifname: l.name,
      kind: l.kind,
      role,
      mac: raw?.mac,
      up: l.up && raw?.operstate !== "DOWN" && raw?.operstate !== "LOWERLAYERDOWN",
      addresses: l.addresses,
      master: l.master,
    });
  };
  const result = (extra: Partial<PlannedPath>): PlannedPath => ({
    hops,
    routers,
    complete: false,
    topology,
    links: linkCache,
    ...extra,
  });

  let ns = fromNs;
  let source: string | undefined;
  let firstNextHop: string | undefined;
  let iif: string | undefined;
  for (let leg = 0; leg < 6; leg++) {
    const rg = await routeGet(ns, dst, iif && source ? { src: source, iif } : undefined);
    if (!rg.ok) {
      const kind = iif ? "not-forwarded" : "no-route";
      const detail = iif
        ? `${ns} does not route ${dst} onward (${rg.error})`
        : `no route to ${dst} in ${ns} (${rg.error})`;
      return result({ source, firstNextHop, stop: { kind, ns, detail } });
    }
    if (leg === 0) source = rg.prefsrc;
    if (rg.type === "local") {
      // the destination is in this very namespace: the packet goes over lo
      const lo = nsLinks(topology, ns).find((l) => l.name === "lo");
      if (lo && leg === 0) await push(ns, lo, "loopback");
      return result({ source, complete: true });
    }
    const out = nsLinks(topology, ns).find((l) => l.name === rg.dev);
    if (!out) {
      return result({
        source,
        stop: { kind: "unknown-link", ns, detail: `${ns} sends it out of ${rg.dev}` },
      });
    }
    const nextIp = rg.gateway ?? dst;
    if (leg === 0) firstNextHop = nextIp;
    let atNs = ns;
    let at: TopoLink = out;
    if (out.kind === "veth") {
      await push(ns, out, leg === 0 ? "source" : "router");
      if (!out.peer) {
        return result({
          source,
          firstNextHop,
          stop: {
            kind: "unknown-link",
            ns,
            ifname: out.name,
            detail: `the peer of ${out.name} is not found`,
          },
        });
      }
      const [pns, pname] = [
        out.peer.slice(0, out.peer.indexOf("/")),
        out.peer.slice(out.peer.indexOf("/") + 1),
      ];
      const peer = nsLinks(topology, pns).find((l) => l.name === pname)!;
      atNs = pns;
      at = peer;
      await push(pns, peer, holds(peer, dst) ? "destination" : "veth-peer");
    } else if (out.kind !== "bridge") {
      await push(ns, out, leg === 0 ? "source" : "router");
      return result({
        source,
        firstNextHop,
        stop: { kind: "unknown-link", ns, ifname: out.name, detail: `${out.name} is not a veth or a bridge` },
      });
    }
    // into a bridge: its ports lead on
    const bridge = out.kind === "bridge"
      ? out
      : at.master
      ? nsLinks(topology, atNs).find((l) => l.name === at.master && l.kind === "bridge")
      : undefined;
    if (bridge) {
      await push(atNs, bridge, out.kind === "bridge" && leg === 0 ? "source" : "bridge");
      if (holds(bridge, nextIp)) {
        if (nextIp === dst) {
          hops[hops.length - 1].role = "destination";
          return result({ source, firstNextHop, complete: true });
        }
        routers.push(atNs);
        ns = atNs;
        iif = bridge.name;
        continue;
      }
      const ports = nsLinks(topology, atNs).filter((l) => l.master === bridge.name && l.name !== at.name);
      let found: { port: TopoLink; peerNs: string; peer: TopoLink } | undefined;
      for (const port of ports) {
        if (!port.peer) continue;
        const pns = port.peer.slice(0, port.peer.indexOf("/"));
        const peer = nsLinks(topology, pns).find((l) => l.name === port.peer!.slice(pns.length + 1));
        if (peer && (holds(peer, nextIp) || nsLinks(topology, pns).some((l) => holds(l, nextIp)))) {
          found = { port, peerNs: pns, peer };
          break;
        }
      }
      if (!found) {
        return result({
          source,
          firstNextHop,
          stop: {
            kind: "no-bridge-port",
            ns: atNs,
            ifname: bridge.name,
            detail: `no port of ${bridge.name} leads to ${nextIp}`,
          },
        });
      }
      await push(atNs, found.port, "bridge-port");
      await push(found.peerNs, found.peer, holds(found.peer, dst) ? "destination" : "veth-peer");
      atNs = found.peerNs;
      at = found.peer;
    }
    if (nsLinks(topology, atNs).some((l) => holds(l, dst))) {
      hops[hops.length - 1].role = "destination";
      return result({ source, firstNextHop, complete: true });
    }
    // arrived in a namespace that routes it onward
    hops[hops.length - 1].role = "router";
    routers.push(atNs);
    ns = atNs;
    iif = at.name;
  }
  return result({
    source,
    firstNextHop,
    stop: { kind: "unknown-link", ns, detail: "the path is longer than 6 namespaces" },
  });
}
