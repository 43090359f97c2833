/**
 * Evidence read in a namespace of the path, before and after the probe: the firewall's rule counters
 * (`nft -j list ruleset`: nftables' own rules and iptables-nft's alike), the bridges' FDBs and port states
 * (`bridge -j`), conntrack's translations (/proc/net/nf_conntrack, read inside the namespace: the
 * `conntrack` tool is not installed by Debian's iptables), and sysctls.
 * @module
 */
import { run } from "../shell/mod.ts";

const inNs = (ns: string, argv: string[]) =>
  ns === "host" ? argv : ["nsenter", `--net=/var/run/netns/${ns}`, "--", ...argv];

/** A rule that drops or rejects, with its counter. */
export interface DropRule {
  family: string;
  table: string;
  chain: string;
  handle: number;
  packets: number;
  text: string;
}

interface NftRule {
  rule?: { family: string; table: string; chain: string; handle: number; expr?: Record<string, unknown>[] };
}

/** The drop/reject rules of a namespace's ruleset with their packet counters (empty without nft). */
export async function dropRules(ns: string): Promise<DropRule[]> {
  const r = await run(inNs(ns, ["nft", "-j", "list", "ruleset"]), { check: false, purpose: "read" });
  if (r.code !== 0 || !r.stdout.trim()) return [];
  let parsed: { nftables?: NftRule[] };
  try {
    parsed = JSON.parse(r.stdout);
  } catch {
    return [];
  }
  const out: DropRule[] = [];
  for (const item of parsed.nftables ?? []) {
    const rule = item.rule;
    if (!rule?.expr) continue;
    const verdict = rule.expr.some((e) => "drop" in e || "reject" in e);
    const counter = rule.expr.find((e) => "counter" in e)?.counter as { packets?: number } | undefined;
    if (!verdict || counter?.packets === undefined) continue;
    out.push({
      family: rule.family,
      table: rule.table,
      chain: rule.chain,
      handle: rule.handle,
      packets: counter.packets,
      text: "",
    });
  }
  return out;
}

/** The rules whose counter grew between two readings, with their text (`nft -a list ruleset`). */
export async function grownDrops(ns: string, before: DropRule[], after: DropRule[]): Promise<DropRule[]> {
  const key = (d: DropRule) => `${d.family}/${d.table}/${d.chain}/${d.handle}`;
  const was = new Map(before.map((d) => [key(d), d.packets]));
  const grown = after.filter((d) => d.packets > (was.get(key(d)) ?? 0));
  if (grown.length === 0) return [];
  const r = await run(inNs(ns, ["nft", "-a", "list", "ruleset"]), { check: false, purpose: "read" });
  let table = "";
  let chain = "";
  const text = new Map<string, string>();
  for (const raw of r.stdout.split("\n")) {
    const line = raw.trim();
    let m = /^table (\S+) (\S+) \{/.exec(line);
    if (m) [table, chain] = [`${m[1]}/${m[2]}`, ""];
    m = /^chain (\S+) \{/.exec(line);
    if (m) chain = m[1];
    m = /^(.*) # handle (\d+)$/.exec(line);
    // the counter is reported on its own: "counter packets 2 bytes 168" reads as "counter"
    if (m && chain) {
      text.set(`${table}/${chain}/${m[2]}`, m[1].replace(/counter packets \d+ bytes \d+/, "counter"));
    }
  }
  return grown.map((d) => ({ ...d, text: text.get(key(d)) ?? "" }));
}

/** A bridge's FDB: MAC → port, as the bridge learned it. */
export async function fdb(ns: string, bridge: string): Promise<Map<string, string>> {
  const r = await run(inNs(ns, ["bridge", "-j", "fdb", "show", "br", bridge]), {
    check: false,
    purpose: "read",
  });
  const out = new Map<string, string>();
  if (r.code !== 0) return out;
  for (
    const e of JSON.parse(r.stdout || "[]") as {
      mac: string;
      ifname: string;
      master?: string;
      flags?: string[];
    }[]
  ) {
    if (e.master === bridge && !e.flags?.includes("self")) out.set(e.mac, e.ifname);
  }
  return out;
}

/** The STP state of each bridge port (`forwarding`, `disabled`, `blocking`, …). */
export async function portStates(ns: string): Promise<Map<string, string>> {
  const r = await run(inNs(ns, ["bridge", "-j", "link", "show"]), { check: false, purpose: "read" });
  const out = new Map<string, string>();
  if (r.code !== 0) return out;
  for (const p of JSON.parse(r.stdout || "[]") as { ifname: string; state?: string }[]) {
    if (p.state) out.set(p.ifname, p.state);
  }
  return out;
}

/** The conntrack entry of a flow from `src` to `dst`, as /proc/net/nf_conntrack prints it. */
export async function conntrackEntry(ns: string, src: string, dst: string): Promise<string | undefined> {
  const r = await run(inNs(ns, ["cat", "/proc/net/nf_conntrack"]), { check: false, purpose: "read" });
  if (r.code !== 0) return undefined;
  return r.stdout.split("\n").find((l) => l.includes(`src=${src} dst=${dst} `))?.replace(/\s+/g, " ").trim();
}

/** The translated source of a conntrack entry: the reply direction's destination. */
export function natSource(entry: string): string | undefined {
  const dsts = [...entry.matchAll(/dst=(\S+)/g)].map((m) => m[1]);
  return dsts[1];
}

/** A sysctl read inside a namespace (`net/ipv4/ip_forward`). */
export async function nsSysctl(ns: string, key: string): Promise<string | undefined> {
  const r = await run(inNs(ns, ["cat", `/proc/sys/${key}`]), { check: false, purpose: "read" });
  return r.code === 0 ? r.stdout.trim() : undefined;
}
