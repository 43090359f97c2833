/**
 * The generator of the bad-input suite (bad-input.test.ts): every case is one plugin invocation that must
 * fail with a given exit code, error code and message, and change nothing. Cases come from tables:
 *
 * - field × wrong type: each config field a plugin reads (and prevResult's), each given values of every
 *   other JSON type: code 6, the message naming the field (`ipam.ranges[0][0].subnet must be a string`);
 * - env var × bad value: CNI_COMMAND, CNI_CONTAINERID, CNI_IFNAME, CNI_NETNS, CNI_ARGS, CNI_PATH, per
 *   command where the spec's table makes them matter;
 * - the spec's error table and the hardening cases: versions (1), fields cnilab does not implement (2),
 *   undecodable stdin (6), invalid configs (7) — including the host's own namespace as CNI_NETNS, a
 *   resolvConf that never ends, two IPv4 range sets, an IPAM that loops, strings from an IPAM result that
 *   are not addresses, names with NUL or newline, IPv4-mapped IPv6 subnets.
 * @module
 */
import { existsSync, writeFileSync } from "node:fs";

/** The three plugins. */
export type PluginName = "bridge" | "host-local" | "loopback";

/** What a case runs in: the container namespace, the worker's data directory and fixture directory. */
export interface Fixture {
  /** CNI_NETNS of the container. */
  netns: string;
  /** The worker's host-local dataDir. */
  dataDir: string;
  /** Files a case needs (fake IPAM plugins, big files, FIFOs) are made here. */
  dir: string;
  /** dist/cni. */
  cniBin: string;
}

/** One generated case. */
export interface Case {
  name: string;
  plugin: PluginName;
  command: "ADD" | "DEL" | "CHECK" | "GC" | "STATUS" | string;
  /** The config (object sent as JSON, string sent as is), from the plugin's base config. */
  config: (fx: Fixture) => unknown;
  /** Environment overrides (undefined removes the variable). */
  env?: (fx: Fixture) => Record<string, string | undefined>;
  /** Prepares files before the run (in fx.dir). */
  prepare?: (fx: Fixture) => void;
  /** Expected: error code in the JSON and a message fragment (string: substring; RegExp: match). */
  code: number;
  msg: string | RegExp;
}

type Json = Record<string, unknown>;

const NETWORK = "tbinet";

/** The base config of each plugin: valid (the suite's control test runs it). */
export function baseConfig(plugin: PluginName, fx: Fixture): Json {
  switch (plugin) {
    case "bridge":
      return {
        cniVersion: "1.0.0",
        name: NETWORK,
        type: "cnilab-bridge",
        bridge: "tbibr0",
        isGateway: true,
        ipMasq: true,
        ipam: { type: "cnilab-host-local", subnet: "10.250.0.0/24", dataDir: fx.dataDir },
      };
    case "host-local":
      return {
        cniVersion: "1.0.0",
        name: NETWORK,
        type: "cnilab-host-local",
        ipam: {
          type: "cnilab-host-local",
          ranges: [[{ subnet: "10.250.1.0/24" }]],
          routes: [{ dst: "0.0.0.0/0" }],
          dataDir: fx.dataDir,
        },
      };
    case "loopback":
      return { cniVersion: "1.0.0", name: NETWORK, type: "cnilab-loopback" };
  }
}

/** A prevResult that parses (for the prevResult field cases). */
const PREV_RESULT = {
  cniVersion: "1.0.0",
  interfaces: [{ name: "eth0", sandbox: "/var/run/netns/x" }],
  ips: [{ address: "10.250.0.5/24", gateway: "10.250.0.1", interface: 0 }],
  routes: [{ dst: "0.0.0.0/0", gw: "10.250.0.1" }],
  dns: {},
};

/** The environment of a valid invocation. */
export function baseEnv(plugin: PluginName, command: string, fx: Fixture): Record<string, string> {
  return {
    CNI_COMMAND: command,
    CNI_CONTAINERID: "tbi-ctr",
    CNI_NETNS: fx.netns,
    CNI_IFNAME: plugin === "loopback" ? "lo" : "eth0",
    CNI_PATH: fx.cniBin,
  };
}

/** Sets `path` (dotted, with [i] for list items) in a copy of `config`, creating objects on the way. */
function withField(config: Json, path: string, value: unknown): Json {
  const copy = structuredClone(config);
  const keys = path.replace(/\[(\d+)\]/g, ".$1").split(".");
  let at: Record<string, unknown> = copy;
  for (const k of keys.slice(0, -1)) {
    if (typeof at[k] !== "object" || at[k] === null) at[k] = /^\d+$/.test(k) ? [] : {};
    at = at[k] as Record<string, unknown>;
  }
  at[keys.at(-1)!] = value;
  return copy;
}

/** Removes a top-level or nested key (dotted) from a copy. */
function without(config: Json, path: string): Json {
  const copy = structuredClone(config);
  const keys = path.split(".");
  let at: Record<string, unknown> = copy;
  for (const k of keys.slice(0, -1)) at = at[k] as Record<string, unknown>;
  delete at[keys.at(-1)!];
  return copy;
}

// ---------------------------------------------------------------------------------------------------
// field × wrong type

type Kind = "string" | "bool" | "int" | "object" | "list";

const WRONG: Record<Kind, unknown[]> = {
  string: [5, true, [], {}],
  bool: ["true", 1, [], {}],
  int: ["1500", true, 1.5, {}],
  object: ["x", 5, true, []],
  list: ["x", 5, true, {}],
};

const WANT: Record<Kind, string> = {
  string: "a string",
  bool: "true or false",
  int: "an integer",
  object: "an object",
  list: "a list",
};

/** A field: its path in the config, its kind, and (when it differs from the path) how messages name it. */
type Field = [path: string, kind: Kind, named?: string, want?: string];

const COMMON: Field[] = [
  ["cniVersion", "string"],
  ["name", "string"],
  ["type", "string"],
  ["cniVersions", "list"],
  ["dns", "object"],
  ["dns.nameservers", "list"],
  ["dns.domain", "string"],
  ["dns.search", "list"],
  ["dns.options", "list"],
  ["args", "object"],
  ["runtimeConfig", "object"],
  ["capabilities", "object"],
  ["capabilities.mac", "bool"],
  ["prevResult.interfaces", "list", "interfaces"],
  ["prevResult.interfaces[0].name", "string", "interfaces[0].name"],
  ["prevResult.ips", "list", "ips"],
  ["prevResult.ips[0].address", "string", "ips[0].address"],
  ["prevResult.ips[0].interface", "int", "ips[0].interface"],
  ["prevResult.routes", "list", "routes"],
  ["prevResult.routes[0].dst", "string", "routes[0].dst"],
  ["prevResult.dns", "object", "dns"],
];

const FIELDS: Record<PluginName, Field[]> = {
  bridge: [
    ...COMMON,
    ["bridge", "string"],
    ["isGateway", "bool"],
    ["isDefaultGateway", "bool"],
    ["forceAddress", "bool"],
    ["ipMasq", "bool"],
    ["hairpinMode", "bool"],
    ["promiscMode", "bool"],
    ["mtu", "int"],
    ["vlan", "int"],
    ["vlanTrunk", "list"],
    ["preserveDefaultVlan", "bool"],
    ["macspoofchk", "bool"],
    ["enabledad", "bool"],
    ["disableContainerInterface", "bool"],
    ["portIsolation", "bool"],
    ["ipam", "object"],
    ["ipam.type", "string"],
    ["args.cni", "object"],
    ["args.cni.mac", "string"],
    ["runtimeConfig.mac", "string"],
  ],
  "host-local": [
    ...COMMON,
    ["ipam", "object"],
    ["ipam.type", "string"],
    ["ipam.ranges", "list", undefined, "a list of range sets"],
    ["ipam.ranges[0]", "list", undefined, "a list of ranges"],
    ["ipam.ranges[0][0]", "object"],
    ["ipam.ranges[0][0].subnet", "string"],
    ["ipam.ranges[0][0].gateway", "string"],
    ["ipam.ranges[0][0].rangeStart", "string"],
    ["ipam.ranges[0][0].rangeEnd", "string"],
    ["ipam.routes", "list"],
    ["ipam.routes[0]", "object"],
    ["ipam.routes[0].dst", "string"],
    ["ipam.routes[0].gw", "string"],
    ["ipam.routes[0].mtu", "int"],
    ["ipam.routes[0].priority", "int"],
    ["ipam.routes[0].table", "int"],
    ["ipam.dataDir", "string"],
    ["ipam.resolvConf", "string"],
    ["ipam.subnet", "string"],
    ["args.cni", "object"],
    ["args.cni.ips", "list", undefined, "a list of strings"],
    ["runtimeConfig.ips", "list", undefined, "a list of strings"],
    ["runtimeConfig.ipRanges", "list", undefined, "a list of range sets"],
  ],
  loopback: COMMON,
};

function fieldCases(plugin: PluginName): Case[] {
  const out: Case[] = [];
  for (const [path, kind, named, want] of FIELDS[plugin]) {
    for (const [n, value] of WRONG[kind].entries()) {
      // every wrong value on ADD; DEL (which must never be refused for less) with two of them
      for (const command of n < 2 ? ["ADD", "DEL"] : ["ADD"]) {
        out.push({
          name: `${plugin} ${command}: ${path} = ${JSON.stringify(value)}`,
          plugin,
          command,
          config: (fx) => {
            let base = baseConfig(plugin, fx);
            if (path.startsWith("prevResult.")) base = { ...base, prevResult: structuredClone(PREV_RESULT) };
            if (path === "ipam.subnet") base = without(base, "ipam.ranges");
            return withField(base, path, value);
          },
          code: 6,
          msg: `${named ?? path} must be ${want ?? WANT[kind]}, got ${JSON.stringify(value)}`,
        });
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// env var × bad value

interface EnvCase {
  variable: string;
  value: string | undefined;
  code: number;
  msg: string | RegExp;
  commands: string[];
  plugins?: PluginName[];
}

const ALL3 = ["ADD", "CHECK", "DEL"];
const SANDBOXED: PluginName[] = ["bridge", "loopback"];

const ENV_CASES: EnvCase[] = [
  ...["add", "BOGUS", " ADD", "ADD;DEL"].map((value) => ({
    variable: "CNI_COMMAND",
    value,
    code: 4,
    msg: `unknown CNI_COMMAND: ${value}`,
    commands: ["ADD"],
  })),
  {
    variable: "CNI_CONTAINERID",
    value: undefined,
    code: 4,
    msg: "[CNI_CONTAINERID] missing",
    commands: ALL3,
  },
  { variable: "CNI_CONTAINERID", value: "", code: 4, msg: "[CNI_CONTAINERID] missing", commands: ALL3 },
  ...["-lead", "a b", "a/b", "a;b", "x\ny", "ä"].map((value) => ({
    variable: "CNI_CONTAINERID",
    value,
    code: 4,
    msg: "invalid characters in containerID",
    commands: ALL3,
  })),
  { variable: "CNI_IFNAME", value: undefined, code: 4, msg: "[CNI_IFNAME] missing", commands: ALL3 },
  { variable: "CNI_IFNAME", value: "", code: 4, msg: "[CNI_IFNAME] missing", commands: ALL3 },
  { variable: "CNI_IFNAME", value: ".", code: 4, msg: "interface name is . or ..", commands: ALL3 },
  { variable: "CNI_IFNAME", value: "..", code: 4, msg: "interface name is . or ..", commands: ALL3 },
  {
    variable: "CNI_IFNAME",
    value: "x".repeat(16),
    code: 4,
    msg: "interface name is too long",
    commands: ALL3,
  },
  ...["a/b", "a:b", "a b", "eth\n0", "eth\t0", "eth\x010"].map((value) => ({
    variable: "CNI_IFNAME",
    value,
    code: 4,
    msg: "interface name contains",
    commands: ALL3,
  })),
  {
    variable: "CNI_NETNS",
    value: undefined,
    code: 4,
    msg: "[CNI_NETNS] missing",
    commands: ["ADD", "CHECK"],
  },
  {
    variable: "CNI_NETNS",
    value: "",
    code: 4,
    msg: "is empty",
    commands: ["ADD", "CHECK"],
    plugins: SANDBOXED,
  },
  // the host's own namespace (the stand-in, where the plugin runs): refused for every command
  ...["/proc/self/ns/net", "/proc/thread-self/ns/net"].map((value) => ({
    variable: "CNI_NETNS",
    value,
    code: 4,
    msg: "is the plugin's own network namespace",
    commands: ALL3,
    plugins: SANDBOXED,
  })),
  ...["mnt", "uts", "ipc", "pid", "user", "cgroup"].map((type) => ({
    variable: "CNI_NETNS",
    value: `/proc/self/ns/${type}`,
    code: 4,
    msg: `is a ${type} namespace, not a network namespace`,
    commands: ALL3,
    plugins: SANDBOXED,
  })),
  ...[["/tmp", "a directory"], ["/etc/hostname", "a regular file"], ["/dev/null", "a device"]].map((
    [value, what],
  ) => ({
    variable: "CNI_NETNS",
    value,
    code: 4,
    msg: `is not a network namespace (it is ${what})`,
    commands: ["ADD", "CHECK"],
    plugins: SANDBOXED,
  })),
  {
    variable: "CNI_NETNS",
    value: "/var/run/netns/x\nlink del eth0",
    code: 4,
    msg: "contains control characters",
    commands: ALL3,
    plugins: SANDBOXED,
  },
  ...["/var/run/netns/tbi-nonesuch", "relative/netns"].map((value) => ({
    variable: "CNI_NETNS",
    value,
    code: 4,
    msg: "does not exist",
    commands: ["ADD", "CHECK"],
    plugins: SANDBOXED,
  })),
  ...["IP", "=x", "a=b=c", ";"].map((value) => ({
    variable: "CNI_ARGS",
    value,
    code: 4,
    msg: "CNI_ARGS: invalid pair",
    commands: ALL3,
  })),
  { variable: "CNI_ARGS", value: "FOO=bar", code: 4, msg: "CNI_ARGS: unknown args", commands: ALL3 },
  {
    variable: "CNI_ARGS",
    value: "IgnoreUnknown=maybe",
    code: 4,
    msg: "IgnoreUnknown must be 1, 0, true or false",
    commands: ALL3,
  },
  {
    variable: "CNI_ARGS",
    value: "IgnoreUnknown=1;IP=10.250.1.300",
    code: 7,
    msg: "is not an IP address",
    commands: ["ADD"],
    plugins: ["host-local"],
  },
  {
    variable: "CNI_ARGS",
    value: "MAC=zz:00:00:00:00:01",
    code: 7,
    msg: "invalid MAC address in CNI_ARGS MAC",
    commands: ["ADD"],
    plugins: ["bridge"],
  },
  ...["", "/nonexistent"].map((value) => ({
    variable: "CNI_PATH",
    value,
    code: 7,
    msg: `failed to find plugin "cnilab-host-local" in path`,
    commands: ["ADD", "CHECK"],
    plugins: ["bridge"] as PluginName[],
  })),
];

function envCases(plugin: PluginName): Case[] {
  const out: Case[] = [];
  for (const e of ENV_CASES) {
    if (e.plugins && !e.plugins.includes(plugin)) continue;
    for (const command of e.commands) {
      out.push({
        name: `${plugin} ${command}: ${e.variable}=${
          e.value === undefined ? "(unset)" : JSON.stringify(e.value)
        }`,
        plugin,
        command: e.variable === "CNI_COMMAND" ? e.value! : command,
        config: (fx) => baseConfig(plugin, fx),
        env: () => ({ [e.variable]: e.value }),
        code: e.code,
        msg: e.msg,
      });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// the spec's error table and the hardening cases

/** A fake IPAM plugin that answers ADD with `result` (DEL, CHECK: success). */
function fakeIpam(fx: Fixture, name: string, result: unknown): void {
  const script = `#!/bin/sh\ncat >/dev/null\n[ "$CNI_COMMAND" = ADD ] && cat <<'EOF'\n${
    JSON.stringify(result)
  }\nEOF\nexit 0\n`;
  writeFileSync(`${fx.dir}/${name}`, script, { mode: 0o755 });
}

function fakeResult(ip: Json, routes: Json[] = []): Json {
  return { cniVersion: "1.0.0", ips: [ip], routes, dns: {} };
}

interface TableCase {
  name: string;
  plugins: PluginName[];
  commands: string[];
  change: (c: Json, fx: Fixture) => unknown;
  env?: (fx: Fixture) => Record<string, string | undefined>;
  prepare?: (fx: Fixture) => void;
  code: number;
  msg: string | RegExp;
}

const P3: PluginName[] = ["bridge", "host-local", "loopback"];
const IPAM_PLUGINS: PluginName[] = ["bridge", "host-local"];

/** For the bridge the host-local fields sit in its `ipam` section too. */
function ipamOf(c: Json): Json {
  return c.ipam as Json;
}

const BAD_LINK_NAMES = [
  "",
  "a/b",
  "a b",
  "a\u0000b",
  "a\nb",
  "a\tb",
  "a:b",
  ".",
  "..",
  "x".repeat(16),
  "ü".repeat(8),
];

const TABLE: TableCase[] = [
  // code 1: versions
  ...["0.1.0", "0.2.0", "9.9.9", ""].map((v) => ({
    name: `cniVersion ${JSON.stringify(v)}`,
    plugins: P3,
    commands: ["ADD", "DEL"],
    change: (c: Json) => ({ ...c, cniVersion: v }),
    code: 1,
    msg: "incompatible CNI versions",
  })),
  {
    name: "no cniVersion and no cniVersions",
    plugins: P3,
    commands: ["ADD"],
    change: (c) => without(c, "cniVersion"),
    code: 1,
    msg: "incompatible CNI versions",
  },
  ...["0.3.0", "0.3.1"].map((v) => ({
    name: `CHECK with cniVersion ${v}`,
    plugins: P3,
    commands: ["CHECK"],
    change: (c: Json) => ({ ...c, cniVersion: v }),
    code: 1,
    msg: "config version does not allow CHECK",
  })),
  ...["GC", "STATUS"].map((command) => ({
    name: `${command} with cniVersion 1.0.0`,
    plugins: P3,
    commands: [command],
    change: (c: Json) => c,
    code: 1,
    msg: `config version 1.0.0 does not allow ${command}`,
  })),
  // code 2: reference fields cnilab-bridge does not implement
  ...([
    ["vlan", 100],
    ["vlanTrunk", [{ id: 5 }]],
    ["preserveDefaultVlan", false],
    ["macspoofchk", true],
    [
      "enabledad",
      true,
    ],
    ["disableContainerInterface", true],
    ["portIsolation", true],
  ] as const).map(([k, v]) => ({
    name: `${k}: ${JSON.stringify(v)}`,
    plugins: ["bridge"] as PluginName[],
    commands: ["ADD", "DEL"],
    change: (c: Json) => ({ ...c, [k]: v }),
    code: 2,
    msg: `cnilab-bridge does not support "${k}"`,
  })),
  // code 6: stdin that is no config
  ...["", "not json", "[]", "5", "null", '{"cniVersion":"1.0.0"', '"a string"'].map((text) => ({
    name: `stdin ${JSON.stringify(text)}`,
    plugins: P3,
    commands: ["ADD", "DEL"],
    change: () => text,
    code: 6,
    msg: "error parsing the network config",
  })),
  // code 7: invalid configs
  {
    name: "no name",
    plugins: P3,
    commands: ["ADD", "DEL"],
    change: (c) => without(c, "name"),
    code: 7,
    msg: "missing network name",
  },
  ...["bad name", "-lead", "a/b", "a\nb"].map((name) => ({
    name: `network name ${JSON.stringify(name)}`,
    plugins: P3,
    commands: ["ADD", "DEL"],
    change: (c: Json) => ({ ...c, name }),
    code: 7,
    msg: "invalid characters found in network name",
  })),
  {
    name: "no type",
    plugins: P3,
    commands: ["ADD", "DEL"],
    change: (c) => without(c, "type"),
    code: 7,
    msg: "missing plugin type",
  },
  ...BAD_LINK_NAMES.map((bridge) => ({
    name: `bridge name ${JSON.stringify(bridge)}`,
    plugins: ["bridge"] as PluginName[],
    commands: ["ADD", "DEL", "CHECK"],
    change: (c: Json) => ({ ...c, bridge }),
    code: 7,
    msg: `invalid bridge name ${JSON.stringify(bridge)}`,
  })),
  ...[20, 67, 65536, -1].map((mtu) => ({
    name: `mtu ${mtu}`,
    plugins: ["bridge"] as PluginName[],
    commands: ["ADD"],
    change: (c: Json) => ({ ...c, mtu }),
    code: 7,
    msg: /MTU|"mtu"/,
  })),
  ...["zz:00:00:00:00:01", "01:00:5e:00:00:01", "0a:00:00:00:00"].map((mac) => ({
    name: `runtimeConfig.mac ${mac}`,
    plugins: ["bridge"] as PluginName[],
    commands: ["ADD"],
    change: (c: Json) => ({ ...c, runtimeConfig: { mac } }),
    code: 7,
    msg: "invalid MAC address in runtimeConfig.mac",
  })),
  {
    name: "hairpinMode with promiscMode",
    plugins: ["bridge"],
    commands: ["ADD"],
    change: (c) => ({ ...c, hairpinMode: true, promiscMode: true }),
    code: 7,
    msg: "cannot set hairpin mode and promiscuous mode at the same time",
  },
  // the bridge delegating to itself (directly, or through a plugin that comes back)
  ...["ADD", "DEL", "CHECK", "GC", "STATUS"].map((command) => ({
    name: `ipam.type cnilab-bridge (a loop) on ${command}`,
    plugins: ["bridge"] as PluginName[],
    commands: [command],
    change: (c: Json) => ({
      ...c,
      cniVersion: command === "GC" || command === "STATUS" ? "1.1.0" : c.cniVersion,
      ipam: { ...ipamOf(c), type: "cnilab-bridge" },
    }),
    code: 7,
    msg: `ipam.type "cnilab-bridge" is cnilab-bridge itself: a delegation loop`,
  })),
  ...["ADD", "DEL"].map((command) => ({
    name: `ipam.type a wrapper that runs cnilab-bridge again on ${command}`,
    plugins: ["bridge"] as PluginName[],
    commands: [command],
    prepare: (fx: Fixture) => {
      writeFileSync(`${fx.dir}/loops-back`, `#!/bin/sh\nexec ${fx.cniBin}/cnilab-bridge\n`, { mode: 0o755 });
    },
    env: (fx: Fixture) => ({ CNI_PATH: `${fx.dir}:${fx.cniBin}` }),
    change: (c: Json) => ({ ...c, ipam: { ...ipamOf(c), type: "loops-back" } }),
    code: 7,
    msg: `ipam.type "loops-back" reached cnilab-bridge again`,
  })),
  // host-local's ranges (directly, and through the bridge)
  {
    name: "no ranges",
    plugins: IPAM_PLUGINS,
    commands: ["ADD"],
    change: (c) => ({ ...c, ipam: { type: ipamOf(c).type, dataDir: ipamOf(c).dataDir } }),
    code: 7,
    msg: "no IP ranges specified",
  },
  ...[
    ["nonsense", "is not a CIDR"],
    ["10.250.1.0", "is not a CIDR"],
    ["10.250.1.0/33", "is not a CIDR"],
    ["10.250.1.0/24\n", "is not a CIDR"],
    ["10.250.1.1/24", "network has host bits set"],
    ["10.250.1.0/31", "too small to allocate from"],
    ["::ffff:10.253.1.0/120", "is an IPv4-mapped IPv6 address"],
    ["::ffff:0:0/96", "is an IPv4-mapped IPv6 address"],
  ].map(([subnet, msg]) => ({
    name: `subnet ${JSON.stringify(subnet)}`,
    plugins: IPAM_PLUGINS,
    commands: ["ADD", "DEL"],
    change: (c: Json) => ({
      ...c,
      ipam: { type: ipamOf(c).type, dataDir: ipamOf(c).dataDir, ranges: [[{ subnet }]] },
    }),
    code: 7,
    msg,
  })),
  ...[
    [{ subnet: "10.250.1.0/24", rangeStart: "10.250.2.5" }, "rangeStart 10.250.2.5 not in network"],
    [{ subnet: "10.250.1.0/24", rangeEnd: "10.250.9.5" }, "rangeEnd 10.250.9.5 not in network"],
    [{ subnet: "10.250.1.0/24", gateway: "fd00::1" }, "is not an IPv4 address"],
    [{ subnet: "10.250.1.0/24", gateway: "::ffff:10.250.1.1" }, "is an IPv4-mapped IPv6 address"],
    [{ subnet: "10.250.1.0/24", gateway: "10.250.1.1 " }, "is not an IP address"],
  ].map(([range, msg]) => ({
    name: `range ${JSON.stringify(range)}`,
    plugins: IPAM_PLUGINS,
    commands: ["ADD"],
    change: (c: Json) => ({
      ...c,
      ipam: { type: ipamOf(c).type, dataDir: ipamOf(c).dataDir, ranges: [[range]] },
    }),
    code: 7,
    msg: msg as string,
  })),
  {
    name: "mixed families in one range set",
    plugins: IPAM_PLUGINS,
    commands: ["ADD"],
    change: (c) => ({
      ...c,
      ipam: {
        ...ipamOf(c),
        subnet: undefined,
        ranges: [[{ subnet: "10.250.1.0/24" }, { subnet: "fd00:250::/64" }]],
      },
    }),
    code: 7,
    msg: "mixed address families",
  },
  {
    name: "overlapping range sets",
    plugins: IPAM_PLUGINS,
    commands: ["ADD"],
    change: (c) => ({
      ...c,
      ipam: {
        ...ipamOf(c),
        subnet: undefined,
        ranges: [[{ subnet: "10.250.1.0/24" }], [{ subnet: "10.250.0.0/16" }]],
      },
    }),
    code: 7,
    msg: "overlaps",
  },
  ...["relative/dir", "/var/lib/cni/../../etc", "/x/./y"].map((dataDir) => ({
    name: `dataDir ${dataDir}`,
    plugins: IPAM_PLUGINS,
    commands: ["ADD", "DEL"],
    change: (c: Json) => ({ ...c, ipam: { ...ipamOf(c), dataDir } }),
    code: 7,
    msg: "is not a clean absolute path",
  })),
  ...[
    ["/nonexistent/resolv.conf", 5, "cannot read resolvConf"],
    ["/tmp", 7, "is not a regular file"],
    ["/dev/null", 7, "is not a regular file"],
    ["/dev/zero", 7, "is not a regular file"],
    ["FIFO", 7, "is not a regular file"],
    ["BIG", 7, "is larger than 64 KiB"],
  ].map(([file, code, msg]) => ({
    name: `resolvConf ${file}`,
    plugins: IPAM_PLUGINS,
    commands: ["ADD"],
    prepare: (fx: Fixture) => {
      if (file === "FIFO" && !existsSync(`${fx.dir}/resolv.fifo`)) {
        Bun.spawnSync(["mkfifo", `${fx.dir}/resolv.fifo`]);
      }
      if (file === "BIG") writeFileSync(`${fx.dir}/resolv.big`, "nameserver 10.0.0.1\n".repeat(4000));
    },
    change: (c: Json, fx: Fixture) => ({
      ...c,
      ipam: {
        ...ipamOf(c),
        resolvConf: file === "FIFO"
          ? `${fx.dir}/resolv.fifo`
          : file === "BIG"
          ? `${fx.dir}/resolv.big`
          : file,
      },
    }),
    code: code as number,
    msg: msg as string,
  })),
  ...[["dst", "::ffff:10.0.0.0/104"], ["dst", "nonsense"], ["gw", "10.250.1.1\nx"]].map(([k, v]) => ({
    name: `ipam.routes[0].${k} ${JSON.stringify(v)}`,
    plugins: IPAM_PLUGINS,
    commands: ["ADD"],
    change: (c: Json) => ({ ...c, ipam: { ...ipamOf(c), routes: [{ dst: "0.0.0.0/0", [k]: v }] } }),
    code: 7,
    msg: `ipam.routes[0]`,
  })),
  // two IPv4 range sets with isGateway: refused at the first ADD (a bridge takes one IPv4 gateway)
  {
    name: "two IPv4 range sets with isGateway",
    plugins: ["bridge"],
    commands: ["ADD"],
    change: (c) => ({
      ...c,
      ipam: {
        type: "cnilab-host-local",
        dataDir: ipamOf(c).dataDir,
        ranges: [[{ subnet: "10.250.1.0/24" }], [{ subnet: "10.250.2.0/24" }]],
      },
    }),
    code: 7,
    msg: "isGateway with more than one IPv4 address per container",
  },
  // strings from an IPAM result are parsed before use
  ...([
    [
      { address: "10.250.0.5/24", gateway: "10.250.0.1\nlink del eth0" },
      [],
      6,
      "ips[0].gateway must be an IP",
    ],
    [{ address: "10.250.0.5/24\naddr flush dev eth0" }, [], 6, "ips[0].address must be an address with"],
    [{ address: "10.250.0.5" }, [], 6, "ips[0].address must be an address with"],
    [{ address: "10.250.0.5/24", gateway: "10.250.0.1 " }, [], 6, "ips[0].gateway must be an IP"],
    [{ address: "10.250.0.5/24" }, [{ dst: "0.0.0.0/0\nx" }], 6, "routes[0].dst must be an address with"],
    [{ address: "10.250.0.5/24" }, [{ dst: "0.0.0.0/0", gw: '"; reboot' }], 6, "routes[0].gw must be an IP"],
    [{ address: "::ffff:10.253.1.5/120" }, [], 7, "IPv4-mapped IPv6 address"],
    [{ address: "10.250.0.5/24", gateway: "::ffff:10.250.0.1" }, [], 7, "IPv4-mapped IPv6 gateway"],
  ] as const).map(([ip, routes, code, msg], i) => ({
    name: `IPAM result ${JSON.stringify({ ip, routes })}`,
    plugins: ["bridge"] as PluginName[],
    commands: ["ADD"],
    prepare: (fx: Fixture) => fakeIpam(fx, `fake-ipam-${i}`, fakeResult(ip, [...routes])),
    env: (fx: Fixture) => ({ CNI_PATH: `${fx.dir}:${fx.cniBin}` }),
    change: (c: Json) => ({ ...c, ipam: { type: `fake-ipam-${i}` } }),
    code,
    msg,
  })),
];

function tableCases(plugin: PluginName): Case[] {
  const out: Case[] = [];
  for (const t of TABLE) {
    if (!t.plugins.includes(plugin)) continue;
    for (const command of t.commands) {
      out.push({
        name: `${plugin} ${command}: ${t.name}`,
        plugin,
        command,
        config: (fx) => t.change(baseConfig(plugin, fx), fx),
        env: t.env,
        prepare: t.prepare,
        code: t.code,
        msg: t.msg,
      });
    }
  }
  return out;
}

/** Every case, in a stable order, with unique names. */
export function generateCases(): Case[] {
  const all: Case[] = [];
  for (const plugin of ["bridge", "host-local", "loopback"] as const) {
    all.push(...fieldCases(plugin), ...envCases(plugin), ...tableCases(plugin));
  }
  const seen = new Map<string, number>();
  for (const c of all) {
    const n = seen.get(c.name) ?? 0;
    seen.set(c.name, n + 1);
    if (n > 0) c.name = `${c.name} #${n + 1}`;
  }
  return all;
}
