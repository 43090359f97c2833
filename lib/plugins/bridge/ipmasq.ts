/**
 * `ipMasq`: per-attachment NAT rules, laid out exactly like the reference plugins' iptables backend
 * (pkg/ip/ipmasq, pkg/utils) so the two can be read, compared and cleaned up the same way:
 *
 *   -N CNI-<first 24 hex of sha512(network + containerID)>
 *   -A CNI-x -d <pod subnet> -m comment --comment "name: \"<net>\" id: \"<cid>\"" -j ACCEPT
 *   -A CNI-x ! -d 224.0.0.0/4 (ff00::/8) -m comment --comment ... -j MASQUERADE
 *   -A POSTROUTING -s <pod address>/32 (/128) -m comment --comment ... -j CNI-x
 *
 * Setup is one `iptables-restore --noflush` per family (atomic: all rules or none); teardown finds the
 * POSTROUTING jumps to the chain in `iptables -t nat -S` and removes them and the chain in one restore, so
 * it does not need the pod's addresses (DEL still removes the rules when the netns is already gone).
 * iptables here is the nf_tables backend (`iptables-nft`), never iptables-legacy.
 * @module
 */
import { process } from "../../sys/process.ts";
import { run } from "../../shell/mod.ts";
import { type Family, formatCidr, networkOf, parseCidr } from "../../cni/ip.ts";

const MAX_CHAIN_LENGTH = 28;
const PREFIX = "CNI-";

interface BunHasher {
  CryptoHasher: new (algorithm: string) => { update(data: string): { digest(encoding: "hex"): string } };
}

/**
 * sha512 in hex. Bun's native hasher when there is one: importing `node:crypto` costs ~3.5 ms of a compiled
 * plugin's start-up (measured here), more than the rest of the bridge module together.
 */
function sha512Hex(text: string): string {
  const bun = (globalThis as { Bun?: BunHasher }).Bun;
  if (bun) return new bun.CryptoHasher("sha512").update(text).digest("hex");
  const { createHash } = process.getBuiltinModule("node:crypto") as typeof import("node:crypto");
  return createHash("sha512").update(text).digest("hex");
}

/** The reference's chain name for an attachment: `CNI-` + sha512(network + containerID), 28 chars. */
export function chainName(network: string, containerId: string): string {
  const hash = sha512Hex(network + containerId);
  return PREFIX + hash.slice(0, MAX_CHAIN_LENGTH - PREFIX.length);
}

/** The reference's rule comment for an attachment. */
export function ruleComment(network: string, containerId: string): string {
  return `name: "${network}" id: "${containerId}"`;
}

function quote(text: string): string {
  return `"${text.replace(/(["\\])/g, "\\$1")}"`;
}

/** `POSTROUTING -s <pod>/32 -m comment --comment "…" -j CNI-…`: the jump from POSTROUTING for one address. */
function jumpRule(cidr: string, chain: string, comment: string): string {
  const host = cidr.includes(":") ? "128" : "32";
  return `POSTROUTING -s ${cidr.split("/")[0]}/${host} -m comment --comment ${comment} -j ${chain}`;
}

function tool(family: Family, what: "" | "-restore"): string {
  return `${family === 4 ? "iptables" : "ip6tables"}${what}`;
}

/** Installs the masquerade rules for an attachment's addresses (CIDRs such as 10.0.0.2/24). */
export async function setupIpMasq(addresses: string[], network: string, containerId: string): Promise<void> {
  const chain = chainName(network, containerId);
  const comment = quote(ruleComment(network, containerId));
  for (const family of [4, 6] as const) {
    const mine = addresses.filter((a) => (a.includes(":") ? 6 : 4) === family);
    if (mine.length === 0) continue;
    const multicast = family === 4 ? "224.0.0.0/4" : "ff00::/8";
    // the reference appends per address with "append unique" semantics; the order below is what it yields
    const rules: string[] = [];
    const add = (rule: string) => {
      if (!rules.includes(rule)) rules.push(rule);
    };
    for (const cidr of mine) {
      const net = parseCidr(cidr);
      if (!net) throw new Error(`ipMasq: ${JSON.stringify(cidr)} is not an address with a prefix length`);
      add(
        `-A ${chain} -d ${
          formatCidr({ ip: networkOf(net), prefix: net.prefix })
        } -m comment --comment ${comment} -j ACCEPT`,
      );
      add(`-A ${chain} ! -d ${multicast} -m comment --comment ${comment} -j MASQUERADE`);
      add(`-A ${jumpRule(cidr, chain, comment)}`);
    }
    const script = ["*nat", `:${chain} - [0:0]`, ...rules, "COMMIT", ""].join("\n");
    await run([tool(family, "-restore"), "--noflush", "-w"], { stdin: script });
  }
}

interface NatRules {
  /** `-A POSTROUTING ...` lines. */
  postrouting: string[];
  chains: Set<string>;
}

async function natRules(family: Family): Promise<NatRules> {
  const r = await run([tool(family, ""), "-w", "-t", "nat", "-S"], { purpose: "read", check: false });
  const lines = r.code === 0 ? r.stdout.split("\n") : [];
  return {
    postrouting: lines.filter((l) => l.startsWith("-A POSTROUTING ")),
    chains: new Set(lines.filter((l) => l.startsWith("-N ")).map((l) => l.slice(3).trim())),
  };
}

async function removeChains(family: Family, rules: NatRules, chains: Set<string>): Promise<void> {
  const jumps = rules.postrouting.filter((l) => chains.has(l.split(" -j ").pop()?.trim() ?? ""));
  const present = [...chains].filter((c) => rules.chains.has(c));
  if (jumps.length === 0 && present.length === 0) return;
  const script = [
    "*nat",
    ...jumps.map((l) => "-D" + l.slice(2)),
    ...present.flatMap((c) => [`-F ${c}`, `-X ${c}`]),
    "COMMIT",
    "",
  ].join("\n");
  await run([tool(family, "-restore"), "--noflush", "-w"], { stdin: script });
}

/**
 * Removes an attachment's masquerade rules and chain (nothing to do is success). With the attachment's
 * addresses (from the link DEL removes, or prevResult) the exact rules go in one `iptables-restore`; when that
 * does not match what is there (addresses unknown, rules already gone, more addresses than we know of) the
 * jumps to the chain are found in `iptables -t nat -S` instead.
 */
export async function teardownIpMasq(
  network: string,
  containerId: string,
  addresses: string[] | undefined,
): Promise<void> {
  const chain = chainName(network, containerId);
  const comment = quote(ruleComment(network, containerId));
  for (const family of [4, 6] as const) {
    const mine = (addresses ?? []).filter((a) => (a.includes(":") ? 6 : 4) === family);
    if (addresses && addresses.length > 0 && mine.length === 0) continue; // the attachment had no such address
    if (mine.length > 0) {
      const script = [
        "*nat",
        ...mine.map((a) => `-D ${jumpRule(a, chain, comment)}`),
        `-F ${chain}`,
        `-X ${chain}`,
      ];
      const r = await run([tool(family, "-restore"), "--noflush", "-w"], {
        stdin: [...script, "COMMIT", ""].join("\n"),
        check: false,
      });
      if (r.code === 0) continue;
    }
    await removeChains(family, await natRules(family), new Set([chain]));
  }
}

/**
 * GC: removes the masquerade rules of this network whose container is not in `keep` (found by the
 * reference's comment `name: "<net>" id: "<cid>"`).
 */
export async function gcIpMasq(network: string, keep: Set<string>): Promise<void> {
  const pattern = new RegExp(
    `--comment "name: \\\\"${network.replace(/\./g, "\\.")}\\\\" id: \\\\"([^\\\\"]+)\\\\""`,
  );
  for (const family of [4, 6] as const) {
    const rules = await natRules(family);
    const stale = new Set<string>();
    for (const line of rules.postrouting) {
      const m = line.match(pattern);
      if (m && !keep.has(m[1])) stale.add(chainName(network, m[1]));
    }
    if (stale.size > 0) await removeChains(family, rules, stale);
  }
}
