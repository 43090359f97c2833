/**
 * Spec versions: which one a config asks for, and the shape of a result in each.
 *
 * cnilab works with results in the 1.x shape inside; this module converts a 1.x result into the shape of
 * the version the config asks for (0.3.0, 0.3.1 and 0.4.0 add `ips[].version`), and parses a prevResult of
 * any version (including the 0.2.0 `ip4`/`ip6` shape) back into the 1.x shape.
 * @module
 */
import { CniError, ErrorCode } from "./errors.ts";
import { isObject, list, optInt as optNum, optStr, optStrList as strList, shown, str } from "./fields.ts";
import { parseCidr, parseIp } from "./ip.ts";
import {
  type CniVersion,
  type Dns,
  type Result,
  type ResultInterface,
  type ResultIp,
  type ResultRoute,
  SUPPORTED_VERSIONS,
} from "./types.ts";

/** The newest spec version cnilab speaks. */
export const LATEST: CniVersion = "1.1.0";

/** True when cnilab supports this spec version. */
export function isSupported(version: unknown): version is CniVersion {
  return typeof version === "string" && (SUPPORTED_VERSIONS as readonly string[]).includes(version);
}

/** Compares two dotted versions numerically (-1, 0, 1). */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

/** a >= b */
export function atLeast(a: string, b: string): boolean {
  return compareVersions(a, b) >= 0;
}

/** The highest of `versions` that cnilab supports (undefined when none is). */
function highestSupported(versions: readonly unknown[]): CniVersion | undefined {
  const usable = versions.filter(isSupported);
  return usable.sort(compareVersions)[usable.length - 1];
}

/**
 * The plugin side: the version to answer in: the config's `cniVersion` when supported, else (spec 1.1) the
 * highest supported entry of `cniVersions`. Anything else is code 1 (incompatible version), like the
 * reference plugins.
 */
export function negotiate(config: { cniVersion?: unknown; cniVersions?: unknown }): CniVersion {
  if (isSupported(config.cniVersion)) return config.cniVersion;
  const listed = highestSupported(Array.isArray(config.cniVersions) ? config.cniVersions : []);
  if (config.cniVersion === undefined && listed !== undefined) return listed;
  const asked = config.cniVersion === undefined ? "(none)" : JSON.stringify(config.cniVersion);
  throw new CniError(
    ErrorCode.IncompatibleVersion,
    "incompatible CNI versions",
    `config is ${asked}, plugin supports ${
      JSON.stringify(SUPPORTED_VERSIONS)
    }; set "cniVersion" to one of them`,
  );
}

/**
 * The runtime side: the version a list is run with, the highest of its `cniVersion` and `cniVersions`
 * that cnilab supports (libcni picks the highest not newer than its own; cnilab also refuses versions older
 * than 0.3.0, whose results it does not parse). Throws, naming what was offered, when none fits.
 */
export function negotiateList(declared: string[]): CniVersion {
  const best = highestSupported(declared);
  if (best === undefined) {
    throw new Error(
      `no supported cniVersion: the config offers ${
        declared.map((v) => JSON.stringify(v)).join(", ") || "none"
      }, cnilab's runtime speaks ${SUPPORTED_VERSIONS.join(", ")}`,
    );
  }
  return best;
}

/** The address family of an address or CIDR ("4" or "6"). */
function familyOf(address: string): "4" | "6" {
  return address.includes(":") ? "6" : "4";
}

/** Converts a 1.x result into the shape of `version` (the result's `cniVersion` is set to it). */
export function convertResult(result: Result, version: CniVersion): Result {
  const legacy = compareVersions(version, "1.0.0") < 0;
  const v11 = compareVersions(version, "1.1.0") >= 0;
  const out: Result = { cniVersion: version };
  if (result.interfaces) {
    out.interfaces = result.interfaces.map((i) => {
      const c: ResultInterface = { name: i.name };
      if (i.mac !== undefined) c.mac = i.mac;
      if (i.mtu !== undefined && v11) c.mtu = i.mtu;
      if (i.sandbox !== undefined) c.sandbox = i.sandbox;
      if (i.socketPath !== undefined && v11) c.socketPath = i.socketPath;
      if (i.pciID !== undefined && v11) c.pciID = i.pciID;
      return c;
    });
  }
  if (result.ips) {
    out.ips = result.ips.map((ip) => {
      const c: ResultIp = legacy
        ? { version: familyOf(ip.address), address: ip.address }
        : { address: ip.address };
      if (ip.gateway !== undefined) c.gateway = ip.gateway;
      if (ip.interface !== undefined) c.interface = ip.interface;
      return c;
    });
  }
  if (result.routes) {
    out.routes = result.routes.map((r) => {
      const c: ResultRoute = { dst: r.dst };
      if (r.gw !== undefined) c.gw = r.gw;
      if (v11) {
        for (const k of ["mtu", "advmss", "priority", "table", "scope"] as const) {
          if (r[k] !== undefined) c[k] = r[k];
        }
      }
      return c;
    });
  }
  // the reference plugins always print a dns object (Go marshals the empty struct); so does cnilab
  out.dns = result.dns ?? {};
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Parsing untrusted results (prevResult, a delegate's output) into the 1.x shape.

function bad(what: string): never {
  throw new CniError(ErrorCode.DecodingFailure, what);
}

/** An address with a prefix length (`10.0.0.2/24`), checked: an IPAM result feeds `ip` and iptables. */
function cidrText(v: unknown, where: string): string {
  const text = str(v, where);
  if (!parseCidr(text)) bad(`${where} must be an address with a prefix length, got ${shown(text)}`);
  return text;
}

/** An address (`10.0.0.1`), checked. */
function ipText(v: unknown, where: string): string | undefined {
  const text = optStr(v, where);
  if (text === undefined || text === "") return undefined;
  if (!parseIp(text)) bad(`${where} must be an IP address, got ${shown(text)}`);
  return text;
}

/** Parses a `dns` object (config or result). */
export function parseDns(v: unknown, where = "dns"): Dns | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) bad(`${where} must be an object, got ${shown(v)}`);
  const dns: Dns = {};
  const nameservers = strList(v.nameservers, `${where}.nameservers`);
  const domain = optStr(v.domain, `${where}.domain`);
  const search = strList(v.search, `${where}.search`);
  const options = strList(v.options, `${where}.options`);
  if (nameservers) dns.nameservers = nameservers;
  if (domain) dns.domain = domain;
  if (search) dns.search = search;
  if (options) dns.options = options;
  return dns;
}

function parseRoute(v: unknown, where: string): ResultRoute {
  if (!isObject(v)) bad(`${where} must be an object, got ${shown(v)}`);
  const r: ResultRoute = { dst: cidrText(v.dst, `${where}.dst`) };
  const gw = ipText(v.gw, `${where}.gw`);
  if (gw) r.gw = gw;
  for (const k of ["mtu", "advmss", "priority", "table", "scope"] as const) {
    const n = optNum(v[k], `${where}.${k}`);
    if (n !== undefined) r[k] = n;
  }
  return r;
}

/** Parses a 0.2.0 result (`ip4`/`ip6` objects) into the 1.x shape. */
function parseV02(v: Record<string, unknown>): Result {
  const out: Result = { cniVersion: LATEST, ips: [], routes: [] };
  for (const key of ["ip4", "ip6"] as const) {
    const ipc = v[key];
    if (ipc === undefined || ipc === null) continue;
    if (!isObject(ipc)) bad(`${key} must be an object, got ${shown(ipc)}`);
    const ip: ResultIp = { address: cidrText(ipc.ip, `${key}.ip`) };
    const gw = ipText(ipc.gateway, `${key}.gateway`);
    if (gw) ip.gateway = gw;
    out.ips!.push(ip);
    out.routes!.push(
      ...list(ipc.routes, `${key}.routes`).map((r, i) => parseRoute(r, `${key}.routes[${i}]`)),
    );
  }
  const dns = parseDns(v.dns);
  if (dns) out.dns = dns;
  return out;
}

/**
 * Parses a result of any supported version (a prevResult, or what a delegated IPAM plugin printed) into the
 * 1.x shape (`ips[].version` dropped). Malformed input is code 6 (decoding failure).
 */
export function parseResult(v: unknown, label = "prevResult"): Result {
  try {
    return parseAnyResult(v);
  } catch (e) {
    if (e instanceof CniError) {
      throw new CniError(e.code, `could not parse ${label}: ${e.message}`, e.details);
    }
    throw e;
  }
}

function parseAnyResult(v: unknown): Result {
  if (!isObject(v)) bad(`it must be a JSON object, got ${shown(v)}`);
  const version = optStr(v.cniVersion, "cniVersion") ?? "0.2.0";
  if (compareVersions(version, "0.3.0") < 0) return { ...parseV02(v), cniVersion: version };
  const out: Result = { cniVersion: version };
  if (v.interfaces !== undefined && v.interfaces !== null) {
    out.interfaces = list(v.interfaces, "interfaces").map((i, n): ResultInterface => {
      const where = `interfaces[${n}]`;
      if (!isObject(i)) bad(`${where} must be an object, got ${shown(i)}`);
      const c: ResultInterface = { name: str(i.name, `${where}.name`) };
      const mac = optStr(i.mac, `${where}.mac`);
      const mtu = optNum(i.mtu, `${where}.mtu`);
      const sandbox = optStr(i.sandbox, `${where}.sandbox`);
      const socketPath = optStr(i.socketPath, `${where}.socketPath`);
      const pciID = optStr(i.pciID, `${where}.pciID`);
      if (mac !== undefined) c.mac = mac;
      if (mtu !== undefined) c.mtu = mtu;
      if (sandbox !== undefined) c.sandbox = sandbox;
      if (socketPath) c.socketPath = socketPath;
      if (pciID) c.pciID = pciID;
      return c;
    });
  }
  if (v.ips !== undefined && v.ips !== null) {
    out.ips = list(v.ips, "ips").map((ip, n): ResultIp => {
      const where = `ips[${n}]`;
      if (!isObject(ip)) bad(`${where} must be an object, got ${shown(ip)}`);
      const c: ResultIp = { address: cidrText(ip.address, `${where}.address`) };
      const gateway = ipText(ip.gateway, `${where}.gateway`);
      const iface = optNum(ip.interface, `${where}.interface`);
      if (gateway) c.gateway = gateway;
      if (iface !== undefined) c.interface = iface;
      return c;
    });
  }
  if (v.routes !== undefined && v.routes !== null) {
    out.routes = list(v.routes, "routes").map((r, n) => parseRoute(r, `routes[${n}]`));
  }
  const dns = parseDns(v.dns);
  if (dns && Object.keys(dns).length > 0) out.dns = dns;
  return out;
}

/**
 * Converts a result of any supported shape (0.2.0 `ip4`/`ip6`, 0.3.x/0.4.0, 1.x) into the shape of
 * `toVersion`, as libcni's `GetAsVersion` does for prevResult and cached results.
 */
export function convertAnyResult(result: unknown, toVersion: string): Result {
  return convertResult(parseResult(result, "a plugin's result"), toVersion as CniVersion);
}
