/**
 * host-local's configuration: the `ipam` section parsed once into range sets, routes, data directory and
 * requested addresses, with the reference plugin's defaults and checks (and a clear message for each).
 * @module
 */
import { CniError, ErrorCode } from "../../cni/errors.ts";
import {
  type Cidr,
  compareIp,
  contains,
  formatCidr,
  formatIp,
  type Ip,
  ipEquals,
  isV4Mapped,
  lastOf,
  networkOf,
  offset,
  parseCidr,
  parseIp,
} from "../../cni/ip.ts";
import { isObject, optInt, optStr as optString, typeError as wrongType } from "../../cni/fields.ts";
import type { CniArgs } from "../../cni/skeleton.ts";
import type { PluginConfig, ResultRoute } from "../../cni/types.ts";

/** Where the reference keeps its reservations; cnilab's host-local shares it. */
export const DEFAULT_DATA_DIR = "/var/lib/cni/networks";

/** One range: a subnet and the part of it handed out. */
export interface Range {
  /** The subnet (network address and prefix). */
  subnet: Cidr;
  rangeStart: Ip;
  rangeEnd: Ip;
  gateway: Ip;
}

/** A range set: one address is handed out from each set (e.g. one IPv4 and one IPv6 set for dual-stack). */
export type RangeSet = Range[];

/** The parsed `ipam` section. */
export interface HostLocalConfig {
  /** The network name (the directory under dataDir). */
  name: string;
  ranges: RangeSet[];
  routes: ResultRoute[];
  dataDir: string;
  resolvConf?: string;
  /** Addresses asked for through CNI_ARGS `IP=`, `args.cni.ips` or `runtimeConfig.ips`. */
  requested: Ip[];
}

function invalid(msg: string, details = ""): never {
  throw new CniError(ErrorCode.InvalidNetworkConfig, msg, details);
}

/** IPv4-mapped IPv6 (`::ffff:10.0.0.1`) is neither family: code 7. */
function notMapped(text: string, where: string): void {
  if (isV4Mapped(text)) {
    invalid(
      `${where}: ${JSON.stringify(text)} is an IPv4-mapped IPv6 address`,
      "write IPv4 addresses as IPv4 (10.0.0.0/24) and IPv6 ones as real IPv6 (fd00::/64)",
    );
  }
}

function address(v: unknown, where: string): Ip | undefined {
  const text = optString(v, where);
  if (text === undefined || text === "") return undefined;
  notMapped(text, where);
  const ip = parseIp(text);
  if (!ip) invalid(`${where}: ${JSON.stringify(text)} is not an IP address`);
  return ip;
}

/** "10.0.0.2-10.0.0.254", as the reference names a range in its messages. */
export function rangeText(r: Range): string {
  return `${formatIp(r.rangeStart)}-${formatIp(r.rangeEnd)}`;
}

/** "10.0.0.2-10.0.0.254,10.1.0.2-10.1.0.254" */
export function rangeSetText(set: RangeSet): string {
  return set.map(rangeText).join(",");
}

/** True when `ip` is in the subnet and between rangeStart and rangeEnd. */
export function rangeContains(r: Range, ip: Ip): boolean {
  return contains(r.subnet, ip) && compareIp(ip, r.rangeStart) >= 0 && compareIp(ip, r.rangeEnd) <= 0;
}

/** The range of the set that holds `ip`. */
export function rangeFor(set: RangeSet, ip: Ip): Range | undefined {
  return set.find((r) => rangeContains(r, ip));
}

function rangesOverlap(a: Range, b: Range): boolean {
  return a.subnet.ip.family === b.subnet.ip.family &&
    (rangeContains(a, b.rangeStart) || rangeContains(a, b.rangeEnd) ||
      rangeContains(b, a.rangeStart) || rangeContains(b, a.rangeEnd));
}

function setsOverlap(a: RangeSet, b: RangeSet): boolean {
  return a.some((ra) => b.some((rb) => rangesOverlap(ra, rb)));
}

/** Parses and completes one range (the reference's defaults: gateway .1, start .1 (gateway skipped), end broadcast-1). */
function parseRange(raw: unknown, where: string): Range {
  if (!isObject(raw)) wrongType(where, "an object", raw);
  const subnetText = optString(raw.subnet, `${where}.subnet`);
  if (!subnetText) invalid(`${where}: "subnet" is missing`, `e.g. "subnet": "10.22.0.0/16"`);
  notMapped(subnetText, `${where}.subnet`);
  const subnet = parseCidr(subnetText);
  if (!subnet) {
    invalid(`${where}: "subnet" ${JSON.stringify(subnetText)} is not a CIDR`, `e.g. "10.22.0.0/16"`);
  }
  const width = subnet.ip.family === 4 ? 32 : 128;
  if (subnet.prefix > width - 2) {
    invalid(
      `${where}: network ${formatCidr(subnet)} too small to allocate from`,
      `use a /${width - 2} or larger (a /${width - 2} has ${
        subnet.ip.family === 4 ? "two" : "four"
      } usable addresses)`,
    );
  }
  const network = networkOf(subnet);
  if (!ipEquals(network, subnet.ip)) {
    invalid(
      `${where}: network has host bits set`,
      `for a /${subnet.prefix} the network address is ${formatIp(network)}: use ${
        formatIp(network)
      }/${subnet.prefix}`,
    );
  }
  const range: Range = {
    subnet,
    gateway: address(raw.gateway, `${where}.gateway`) ?? offset(network, 1),
    rangeStart: offset(network, 1),
    rangeEnd: subnet.ip.family === 4 ? offset(lastOf(subnet), -1) : lastOf(subnet),
  };
  const sameFamily = (ip: Ip, field: string) => {
    if (ip.family !== subnet.ip.family) {
      invalid(`${where}.${field} ${formatIp(ip)} is not an IPv${subnet.ip.family} address`);
    }
  };
  sameFamily(range.gateway, "gateway");
  const start = address(raw.rangeStart, `${where}.rangeStart`);
  if (start) {
    sameFamily(start, "rangeStart");
    if (!rangeContains(range, start)) {
      invalid(`${where}: rangeStart ${formatIp(start)} not in network ${formatCidr(subnet)}`);
    }
    range.rangeStart = start;
  }
  const end = address(raw.rangeEnd, `${where}.rangeEnd`);
  if (end) {
    sameFamily(end, "rangeEnd");
    if (!contains(subnet, end) || compareIp(end, range.rangeStart) < 0) {
      invalid(`${where}: rangeEnd ${formatIp(end)} not in network ${formatCidr(subnet)} after rangeStart`);
    }
    range.rangeEnd = end;
  }
  return range;
}

/** A range set as written, and where it was written (for messages). */
interface RawSet {
  raw: unknown;
  where: string;
  /** The old single-range form: the range's fields directly in `ipam`. */
  single?: boolean;
}

function parseRangeSet({ raw, where, single }: RawSet, index: number): RangeSet {
  if (!Array.isArray(raw)) wrongType(where, "a list of ranges", raw);
  if (raw.length === 0) invalid(`invalid range set ${index}: empty range set`);
  const set = raw.map((r, i) => parseRange(r, single ? where : `${where}[${i}]`));
  if (set.some((r) => r.subnet.ip.family !== set[0].subnet.ip.family)) {
    invalid(
      `invalid range set ${index}: mixed address families`,
      "put IPv4 and IPv6 ranges into separate range sets",
    );
  }
  for (let i = 0; i < set.length; i++) {
    for (let j = i + 1; j < set.length; j++) {
      if (rangesOverlap(set[i], set[j])) {
        invalid(`invalid range set ${index}: subnets ${rangeText(set[i])} and ${rangeText(set[j])} overlap`);
      }
    }
  }
  return set;
}

function parseRoutes(raw: unknown): ResultRoute[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) wrongType("ipam.routes", "a list", raw);
  return raw.map((r, i) => {
    const where = `ipam.routes[${i}]`;
    if (!isObject(r)) wrongType(where, "an object", r);
    const dstText = optString(r.dst, `${where}.dst`) ?? invalid(`${where}: "dst" is missing`);
    notMapped(dstText, `${where}.dst`);
    const dst = parseCidr(dstText) ?? invalid(`${where}: dst ${JSON.stringify(dstText)} is not a CIDR`);
    const route: ResultRoute = { dst: formatCidr(dst) };
    const gw = address(r.gw, `${where}.gw`);
    if (gw) route.gw = formatIp(gw);
    for (const k of ["mtu", "advmss", "priority", "table", "scope"] as const) {
      const n = optInt(r[k], `${where}.${k}`);
      if (n !== undefined) route[k] = n;
    }
    return route;
  });
}

/** A data directory must be an absolute path without `.` or `..` components (it must not escape). */
function parseDataDir(raw: unknown): string {
  const dir = optString(raw, "ipam.dataDir");
  if (dir === undefined || dir === "") return DEFAULT_DATA_DIR;
  if (!dir.startsWith("/") || dir.split("/").some((c) => c === ".." || c === ".") || dir.includes("\0")) {
    invalid(
      `ipam.dataDir ${JSON.stringify(dir)} is not a clean absolute path`,
      `use an absolute path without "." or ".." components, e.g. ${DEFAULT_DATA_DIR}`,
    );
  }
  return dir.replace(/\/+$/, "") || "/";
}

function requestedText(text: string, where: string): Ip {
  const t = text.trim();
  const ip = t.includes("/") ? parseCidr(t)?.ip : parseIp(t);
  if (!ip) invalid(`${where}: ${JSON.stringify(text)} is not an IP address`);
  return ip;
}

/** The addresses asked for: CNI_ARGS `IP=a,b`, then `args.cni.ips`, then `runtimeConfig.ips`. */
function parseRequested(config: PluginConfig, cniArgs: CniArgs): Ip[] {
  const out: Ip[] = [];
  if (cniArgs.IP) { for (const item of cniArgs.IP.split(",")) out.push(requestedText(item, "CNI_ARGS IP")); }
  const cni = isObject(config.args) ? config.args.cni : undefined;
  if (isObject(cni) && cni.ips !== undefined && cni.ips !== null) {
    if (!Array.isArray(cni.ips)) wrongType("args.cni.ips", "a list of strings", cni.ips);
    cni.ips.forEach((s, i) => {
      if (typeof s !== "string") wrongType(`args.cni.ips[${i}]`, "a string", s);
      out.push(requestedText(s, `args.cni.ips[${i}]`));
    });
  }
  const rt = config.runtimeConfig?.ips;
  if (rt !== undefined && rt !== null) {
    if (!Array.isArray(rt)) wrongType("runtimeConfig.ips", "a list of strings", rt);
    rt.forEach((s, i) => {
      if (typeof s !== "string") wrongType(`runtimeConfig.ips[${i}]`, "a string", s);
      out.push(requestedText(s, `runtimeConfig.ips[${i}]`));
    });
  }
  return out;
}

/** Parses the `ipam` section of a host-local config (the reference's LoadIPAMConfig, with clearer errors). */
export function parseHostLocalConfig(config: PluginConfig, cniArgs: CniArgs): HostLocalConfig {
  const ipam = config.ipam;
  if (!isObject(ipam)) {
    invalid(`IPAM config missing 'ipam' key`, `add "ipam": {"type": "host-local", "ranges": [...]}`);
  }
  const rawSets: RawSet[] = [];
  const rt = config.runtimeConfig?.ipRanges;
  if (rt !== undefined && rt !== null) {
    if (!Array.isArray(rt)) wrongType("runtimeConfig.ipRanges", "a list of range sets", rt);
    rawSets.push(...rt.map((raw, i) => ({ raw, where: `runtimeConfig.ipRanges[${i}]` })));
  }
  // the old single-range form: subnet/rangeStart/rangeEnd/gateway directly in ipam
  if (ipam.subnet !== undefined && ipam.subnet !== null && ipam.subnet !== "") {
    rawSets.push({ raw: [ipam], where: "ipam", single: true });
  }
  if (ipam.ranges !== undefined && ipam.ranges !== null) {
    if (!Array.isArray(ipam.ranges)) wrongType("ipam.ranges", "a list of range sets", ipam.ranges);
    rawSets.push(...ipam.ranges.map((raw, i) => ({ raw, where: `ipam.ranges[${i}]` })));
  }
  if (rawSets.length === 0) {
    invalid("no IP ranges specified", `add "ranges": [[{"subnet": "10.22.0.0/16"}]] to ipam`);
  }
  const ranges = rawSets.map(parseRangeSet);
  for (let i = 0; i < ranges.length; i++) {
    for (let j = i + 1; j < ranges.length; j++) {
      if (setsOverlap(ranges[i], ranges[j])) {
        invalid(`range set ${i} overlaps with ${j}`, "range sets must not share addresses");
      }
    }
  }
  const resolvConf = optString(ipam.resolvConf, "ipam.resolvConf");
  optString(ipam.type, "ipam.type");
  return {
    name: config.name ?? "",
    ranges,
    routes: parseRoutes(ipam.routes),
    dataDir: parseDataDir(ipam.dataDir),
    resolvConf: resolvConf || undefined,
    requested: parseRequested(config, cniArgs),
  };
}
