/**
 * A namespace that stands in for the host, and a container namespace next to it, for tests that run a
 * plugin on bad input: the plugin runs INSIDE the stand-in (`ip netns exec HOST plugin`), so a plugin that
 * mistakes the host for the container (CNI_NETNS=/proc/self/ns/net) or tears down the wrong links can only
 * ever damage the stand-in, never the real host — and the test sees it.
 *
 * The stand-in looks like a small host: `lo` up, an `eth0` (a veth whose peer `uplink0` stays in the
 * stand-in) with 192.0.2.10/24 (TEST-NET-1, never routed anywhere) and a default route via 192.0.2.1.
 * No IPv6 link-local addresses are generated (addrgenmode none), so nothing changes by itself over time.
 *
 * {@link Pair.snapshot} is one `ip netns exec` running one small shell script: links, addresses and routes
 * (IPv4 and IPv6, every table) of both namespaces, the stand-in's NAT rules (iptables and ip6tables) and
 * its forwarding sysctls. Two snapshots are equal when nothing a user could notice changed.
 */
import { chmodSync, writeFileSync } from "node:fs";
import { run } from "../../lib/shell/mod.ts";
import { hex } from "./helpers.ts";

/** A host stand-in and a container namespace. */
export interface Pair {
  /** The stand-in's name (under /var/run/netns). */
  host: string;
  /** The container namespace's name. */
  container: string;
  /** What a runtime passes as CNI_NETNS for the container. */
  containerPath: string;
  /** A wrapper executable that runs `exe` inside the stand-in (made once per exe). */
  inHost(exe: string): string;
  /** The state of both namespaces as text (equal text: nothing changed). */
  snapshot(): Promise<string>;
  destroy(): Promise<void>;
}

const SNAPSHOT = (container: string) =>
  [
    "ip -j -d link show",
    "ip -j addr show",
    "ip -j route show table all",
    "ip -j -6 route show table all",
    "iptables-save -t nat",
    "ip6tables-save -t nat",
    "cat /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv6/conf/all/forwarding",
    "echo --- container",
    `ip -n ${container} -j -d link show`,
    `ip -n ${container} -j addr show`,
    `ip -n ${container} -j route show table all`,
    `ip -n ${container} -j -6 route show table all`,
  ].join("; ");

/** Makes a stand-in and a container namespace (`<prefix>-<hex>-h`, `-c`); `dir` holds the wrappers. */
export async function makePair(prefix: string, dir: string): Promise<Pair> {
  const id = `${prefix}-${hex(3)}`;
  const host = `${id}-h`;
  const container = `${id}-c`;
  const wrappers = new Map<string, string>();
  const ip = (args: string) => run(["ip", ...args.split(" ")]);
  await ip(`netns add ${host}`);
  await ip(`netns add ${container}`);
  await ip(`-n ${host} link set lo up`);
  await ip(`-n ${host} link add eth0 type veth peer name uplink0`);
  await ip(`-n ${host} link set eth0 addrgenmode none`);
  await ip(`-n ${host} link set uplink0 addrgenmode none`);
  await ip(`-n ${host} link set uplink0 up`);
  await ip(`-n ${host} link set eth0 up`);
  await ip(`-n ${host} addr add 192.0.2.10/24 dev eth0`);
  await ip(`-n ${host} route add default via 192.0.2.1 dev eth0`);
  return {
    host,
    container,
    containerPath: `/var/run/netns/${container}`,
    inHost(exe: string): string {
      let w = wrappers.get(exe);
      if (!w) {
        w = `${dir}/${exe.split("/").pop()}-in-${host}`;
        writeFileSync(w, `#!/bin/sh\nexec ip netns exec ${host} ${exe}\n`);
        chmodSync(w, 0o755);
        wrappers.set(exe, w);
      }
      return w;
    },
    async snapshot(): Promise<string> {
      const r = await run(["ip", "netns", "exec", host, "sh", "-c", SNAPSHOT(container)], {
        purpose: "read",
        check: false,
      });
      // iptables-save stamps the time on its comment lines
      return r.stdout.split("\n").filter((l) => !l.startsWith("#")).join("\n") + r.stderr;
    },
    async destroy() {
      for (const ns of [host, container]) await run(["ip", "netns", "del", ns], { check: false });
    },
  };
}
