/**
 * Typed operations on network namespaces, links, addresses and routes, through iproute2's `ip`.
 *
 * This is the one place that knows iproute2's JSON shapes: reads go through `ip -json` and are parsed
 * into the types below, once; writes are argv lists that run one by one or together in one
 * `ip -batch -` process (see {@link batch}). It knows nothing about CNI.
 * @module
 */
import { statfsSync } from "node:fs";
import type { Purpose } from "../events/mod.ts";
import { type CommandResult, run } from "../shell/mod.ts";

/** Where a command applies: the host namespace when `netns` is absent. */
export interface Where {
  /** A named network namespace (under /var/run/netns). */
  netns?: string;
  /**
   * A network namespace given by path (a CNI runtime's CNI_NETNS): `/var/run/netns/NAME` runs as
   * `ip -n NAME`, any other path (e.g. `/proc/PID/ns/net`) as `nsenter --net=PATH ip` (one more exec).
   */
  netnsPath?: string;
}

/** A network link as read back from the kernel. */
export interface Link {
  name: string;
  index: number;
  /** `veth`, `bridge`, `macvlan`, ... (absent for plain devices such as `lo`). */
  kind?: string;
  /** Administratively up (`ip link set up`). */
  up: boolean;
  operstate: string;
  mtu: number;
  mac?: string;
  /** The bridge this link is a port of. */
  master?: string;
  alias?: string;
  /** Index of the veth peer (in `peerNetnsId`'s namespace when set). */
  peerIndex?: number;
  peerNetnsId?: number;
  promisc: boolean;
  /** For bridge ports: hairpin mode. */
  hairpin?: boolean;
}

/** An address on a link. */
export interface Address {
  dev: string;
  family: 4 | 6;
  /** `10.0.0.2/24` */
  cidr: string;
  local: string;
  prefixLength: number;
  scope: string;
}

/** A route in the main table. */
export interface Route {
  /** `default` or a prefix such as `10.0.0.0/24`. */
  dst: string;
  via?: string;
  dev?: string;
  scope?: string;
  protocol?: string;
  src?: string;
  onlink?: boolean;
}

/** A named network namespace. */
export interface Netns {
  name: string;
  id?: number;
}

/** Raw shapes of `ip -json` output (only the fields cnilab reads). */
interface RawLink {
  ifindex: number;
  ifname: string;
  flags: string[];
  mtu: number;
  operstate: string;
  address?: string;
  master?: string;
  ifalias?: string;
  link_index?: number;
  link_netnsid?: number;
  promiscuity?: number;
  linkinfo?: { info_kind?: string; info_slave_kind?: string; info_slave_data?: { hairpin?: boolean } };
}
interface RawAddrLink {
  ifname: string;
  addr_info?: { family: string; local: string; prefixlen: number; scope: string }[];
}
interface RawRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  scope?: string;
  protocol?: string;
  prefsrc?: string;
  flags?: string[];
}

/** The name of a namespace path under /var/run/netns (or /run/netns), else undefined. */
export function netnsNameOf(path: string): string | undefined {
  const m = /^(?:\/var)?\/run\/netns\/([^/]+)$/.exec(path);
  return m && m[1] !== "." && m[1] !== ".." ? m[1] : undefined;
}

/** What a namespace path is: a network namespace, missing, or something else (statfs type NSFS_MAGIC). */
export function netnsPathKind(path: string): "netns" | "missing" | "other" {
  try {
    return statfsSync(path).type === 0x6e736673 ? "netns" : "other";
  } catch (e) {
    return (e as { code?: string }).code === "ENOENT" ? "missing" : "other";
  }
}

/** `ip` with the namespace selection: `ip`, `ip -n NAME` or `nsenter --net=PATH ip`. */
function ipHead(where: Where | undefined): string[] {
  if (where?.netns) return ["ip", "-n", where.netns];
  if (where?.netnsPath) {
    const name = netnsNameOf(where.netnsPath);
    return name ? ["ip", "-n", name] : ["nsenter", `--net=${where.netnsPath}`, "ip"];
  }
  return ["ip"];
}

/**
 * The argv of one `ip` command with its namespace selection, for a caller that runs it its own way (a
 * long-running `ip monitor`, a version line).
 */
export function ipArgv(args: string[], where?: Where): string[] {
  return [...ipHead(where), ...args];
}

/** Runs one `ip` command (args without the leading `ip`); `check: false` resolves on a failure too. */
export function ip(
  args: string[],
  where?: Where & { purpose?: Purpose; check?: boolean },
): Promise<CommandResult> {
  return run(ipArgv(args, where), { purpose: where?.purpose, check: where?.check });
}

async function readJson<T>(args: string[], where?: Where): Promise<T> {
  const result = await run([...ipHead(where), "-json", ...args], { purpose: "read" });
  const text = result.stdout.trim();
  if (text === "") return [] as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`could not parse the JSON of \`ip -json ${args.join(" ")}\`: ${text.slice(0, 120)}`);
  }
}

/** The `ip -batch` script of the commands (one per line, arguments quoted where needed). */
function batchScript(commands: string[][]): string {
  return commands.map((c) => c.map(quoteBatchArg).join(" ")).join("\n") + "\n";
}

function quoteBatchArg(arg: string): string {
  return /[\s"'\\]/.test(arg) ? `"${arg.replace(/(["\\])/g, "\\$1")}"` : arg;
}

/**
 * Runs many `ip` commands (each an argv without the leading `ip`) in one `ip -batch -` process.
 * It stops at the first failing command and throws, naming it.
 */
export async function batch(commands: string[][], where?: Where): Promise<CommandResult | undefined> {
  if (commands.length === 0) return undefined;
  if (commands.length === 1) return await ip(commands[0], where);
  return await run([...ipHead(where), "-batch", "-"], { stdin: batchScript(commands) });
}

/** What a batch did, for callers that react to particular failures instead of failing. */
export interface BatchOutcome {
  ok: boolean;
  /** Index (0-based) of the command that failed; undefined when all ran. */
  failedAt?: number;
  /** What `ip` said about the failure. */
  error: string;
  /** The JSON printed by each `show` command of the batch, in order. */
  shown: unknown[][];
}

/**
 * Runs many commands in one `ip -json -batch -` and reports instead of throwing: which line failed and
 * why (e.g. "File exists" when another ADD created the bridge first), plus what each `show` printed, to
 * parse with {@link parseLinks} / {@link parseAddresses}.
 */
export async function batchReport(commands: string[][], where?: Where): Promise<BatchOutcome> {
  if (commands.length === 0) return { ok: true, error: "", shown: [] };
  const r = await run([...ipHead(where), "-json", "-batch", "-"], {
    stdin: batchScript(commands),
    check: false,
  });
  const shown: unknown[][] = [];
  for (const line of r.stdout.split("\n")) {
    const text = line.trim();
    if (!text.startsWith("[")) continue;
    try {
      shown.push(JSON.parse(text) as unknown[]);
    } catch {
      // not JSON from a show command
    }
  }
  if (r.code === 0) return { ok: true, error: "", shown };
  const m = r.stderr.match(/Command failed -:(\d+)/);
  const error = r.stderr.split("\n").filter((l) => l && !l.startsWith("Command failed")).join(" / ").trim();
  return {
    ok: false,
    failedAt: m ? Number(m[1]) - 1 : undefined,
    error: error || `ip exited ${r.code}`,
    shown,
  };
}

/** True when iproute2's message means "exists already" (EEXIST). */
export function isExists(error: string): boolean {
  return /File exists/i.test(error);
}

/** True when iproute2's message means the device is not there. */
export function isNoDevice(error: string): boolean {
  return /Cannot find device|does not exist|No such device/i.test(error);
}

// ---------------------------------------------------------------------------------------------------
// Command builders: argv lists for `ip`, to run alone or in a batch.

/** Builders of `ip` argv lists (without the leading `ip`). */
export const commands = {
  netnsAdd: (name: string): string[] => ["netns", "add", name],
  netnsDel: (name: string): string[] => ["netns", "delete", name],
  netnsAttach: (name: string, pid: number): string[] => ["netns", "attach", name, String(pid)],
  bridgeAdd: (name: string, opts: { mtu?: number } = {}): string[] => linkAdd(name, opts.mtu, "bridge"),
  /** A veth pair; with `peerNetns` the peer is created directly inside that namespace (cheapest). */
  vethAdd: (name: string, peer: string, opts: { peerNetns?: string; mtu?: number } = {}): string[] => [
    ...linkAdd(name, opts.mtu, "veth"),
    "peer",
    "name",
    peer,
    ...mtuArgs(opts.mtu),
    ...(opts.peerNetns ? ["netns", opts.peerNetns] : []),
  ],
  linkDel: (name: string): string[] => ["link", "delete", name],
  linkUp: (name: string): string[] => ["link", "set", name, "up"],
  linkDown: (name: string): string[] => ["link", "set", name, "down"],
  linkMtu: (name: string, mtu: number): string[] => ["link", "set", name, "mtu", String(mtu)],
  linkMaster: (name: string, master: string): string[] => ["link", "set", name, "master", master],
  linkNoMaster: (name: string): string[] => ["link", "set", name, "nomaster"],
  linkAlias: (name: string, alias: string): string[] => ["link", "set", name, "alias", alias],
  linkToNetns: (name: string, netns: string): string[] => ["link", "set", name, "netns", netns],
  linkAddress: (name: string, mac: string): string[] => ["link", "set", name, "address", mac],
  addrAdd: (dev: string, cidr: string): string[] => ["addr", "add", cidr, "dev", dev],
  addrDel: (dev: string, cidr: string): string[] => ["addr", "del", cidr, "dev", dev],
  routeAdd: (route: Route): string[] => ["route", "add", ...routeSpec(route)],
  routeReplace: (route: Route): string[] => ["route", "replace", ...routeSpec(route)],
  routeDel: (route: Route): string[] => ["route", "del", ...routeSpec(route)],
  /** Forgets every neighbour (ARP/NDP) entry for `to` on `dev`, whatever its state. */
  neighFlush: (dev: string, to: string): string[] => ["neigh", "flush", "to", to, "dev", dev, "nud", "all"],
};

function mtuArgs(mtu: number | undefined): string[] {
  return mtu ? ["mtu", String(mtu)] : [];
}

function linkAdd(name: string, mtu: number | undefined, type: string): string[] {
  return ["link", "add", "name", name, ...mtuArgs(mtu), "type", type];
}

function routeSpec(route: Route): string[] {
  return [
    route.dst,
    ...(route.via ? ["via", route.via] : []),
    ...(route.dev ? ["dev", route.dev] : []),
    ...(route.scope ? ["scope", route.scope] : []),
    ...(route.src ? ["src", route.src] : []),
    ...(route.onlink ? ["onlink"] : []),
  ];
}

// ---------------------------------------------------------------------------------------------------
// Namespaces

/** Network namespaces under /var/run/netns. */
export const netns = {
  /** Creates a named namespace (`ip netns add`): a file under /var/run/netns pinning a new namespace. */
  async add(name: string): Promise<void> {
    await ip(commands.netnsAdd(name));
  },
  async list(): Promise<Netns[]> {
    const raw = await readJson<{ name: string; id?: number }[]>(["netns", "list"]);
    return raw.map((n) => ({ name: n.name, id: n.id }));
  },
  async exists(name: string): Promise<boolean> {
    return (await netns.list()).some((n) => n.name === name);
  },
  /** Deletes a named namespace; the kernel frees it once no process holds it. */
  async del(name: string): Promise<void> {
    await ip(commands.netnsDel(name));
  },
  /** Names an existing process's namespace (`ip netns attach NAME PID`). */
  async attach(name: string, pid: number): Promise<void> {
    await ip(commands.netnsAttach(name, pid));
  },
  /** Runs a command inside the namespace (`ip netns exec`, which also bind-mounts /etc/netns/NAME/*). */
  exec(
    name: string,
    argv: string[],
    opts: { check?: boolean; purpose?: Purpose; timeoutMs?: number } = {},
  ): Promise<CommandResult> {
    return run(["ip", "netns", "exec", name, ...argv], opts);
  },
  /** PIDs of the processes whose network namespace is this one. */
  async pids(name: string): Promise<number[]> {
    const r = await run(["ip", "netns", "pids", name], { purpose: "read", check: false });
    return r.stdout.split(/\s+/).filter(Boolean).map(Number);
  },
};

// ---------------------------------------------------------------------------------------------------
// Links

function toLink(raw: RawLink): Link {
  return {
    name: raw.ifname,
    index: raw.ifindex,
    kind: raw.linkinfo?.info_kind,
    up: raw.flags.includes("UP"),
    operstate: raw.operstate,
    mtu: raw.mtu,
    mac: raw.address,
    master: raw.master,
    alias: raw.ifalias,
    peerIndex: raw.link_index,
    peerNetnsId: raw.link_netnsid,
    promisc: raw.flags.includes("PROMISC") || (raw.promiscuity ?? 0) > 0,
    hairpin: raw.linkinfo?.info_slave_data?.hairpin,
  };
}

/** Links from the JSON of an `ip -json link show` (e.g. one printed inside a {@link batchReport}). */
export function parseLinks(raw: unknown[] | undefined): Link[] {
  return ((raw ?? []) as RawLink[]).map(toLink);
}

/** Network links (interfaces). */
export const link = {
  async list(where?: Where): Promise<Link[]> {
    return (await readJson<RawLink[]>(["-details", "link", "show"], where)).map(toLink);
  },
  async get(name: string, where?: Where): Promise<Link | undefined> {
    return (await link.list(where)).find((l) => l.name === name);
  },
  async addBridge(name: string, opts: Where & { mtu?: number } = {}): Promise<void> {
    await ip(commands.bridgeAdd(name, opts), opts);
  },
  /** Creates a veth pair; with `peerNetns` the peer end is created directly in that namespace. */
  async addVeth(
    name: string,
    peer: string,
    opts: Where & { peerNetns?: string; mtu?: number } = {},
  ): Promise<void> {
    await ip(commands.vethAdd(name, peer, opts), opts);
  },
  async del(name: string, where?: Where): Promise<void> {
    await ip(commands.linkDel(name), where);
  },
  async up(name: string, where?: Where): Promise<void> {
    await ip(commands.linkUp(name), where);
  },
  async down(name: string, where?: Where): Promise<void> {
    await ip(commands.linkDown(name), where);
  },
  async setMtu(name: string, mtu: number, where?: Where): Promise<void> {
    await ip(commands.linkMtu(name, mtu), where);
  },
  async setMaster(name: string, master: string, where?: Where): Promise<void> {
    await ip(commands.linkMaster(name, master), where);
  },
  async setAlias(name: string, alias: string, where?: Where): Promise<void> {
    await ip(commands.linkAlias(name, alias), where);
  },
  /** Moves a link into another namespace. */
  async moveToNetns(name: string, target: string, where?: Where): Promise<void> {
    await ip(commands.linkToNetns(name, target), where);
  },
};

// ---------------------------------------------------------------------------------------------------
// Addresses and routes

/** Addresses from the JSON of an `ip -json addr show` (e.g. one printed inside a {@link batchReport}). */
export function parseAddresses(raw: unknown[] | undefined): Address[] {
  return ((raw ?? []) as RawAddrLink[]).flatMap((l) =>
    (l.addr_info ?? []).map((a): Address => ({
      dev: l.ifname,
      family: a.family === "inet6" ? 6 : 4,
      cidr: `${a.local}/${a.prefixlen}`,
      local: a.local,
      prefixLength: a.prefixlen,
      scope: a.scope,
    }))
  );
}

/** Addresses on links. */
export const addr = {
  async list(where?: Where & { dev?: string; family?: 4 | 6 }): Promise<Address[]> {
    const args = [
      ...(where?.family ? [`-${where.family}`] : []),
      "addr",
      "show",
      ...(where?.dev ? ["dev", where.dev] : []),
    ];
    return parseAddresses(await readJson<RawAddrLink[]>(args, where));
  },
  async add(dev: string, cidr: string, where?: Where): Promise<void> {
    await ip(commands.addrAdd(dev, cidr), where);
  },
  async del(dev: string, cidr: string, where?: Where): Promise<void> {
    await ip(commands.addrDel(dev, cidr), where);
  },
};

/** Routes in the main table. */
export const route = {
  async list(where?: Where & { family?: 4 | 6 }): Promise<Route[]> {
    const raw = await readJson<RawRoute[]>([`-${where?.family ?? 4}`, "route", "show"], where);
    return raw.map((r) => ({
      dst: r.dst,
      via: r.gateway,
      dev: r.dev,
      scope: r.scope,
      protocol: r.protocol,
      src: r.prefsrc,
      onlink: r.flags?.includes("onlink") || undefined,
    }));
  },
  async add(r: Route, where?: Where): Promise<void> {
    await ip(commands.routeAdd(r), where);
  },
  async del(r: Route, where?: Where): Promise<void> {
    await ip(commands.routeDel(r), where);
  },
};
