/**
 * Spec versions: comparison, negotiation, and converting results between the shapes of the versions.
 * @module
 */
import { SUPPORTED_VERSIONS } from "../cni/types.ts";
import type { Result, ResultIp } from "../cni/types.ts";

/** Parses `1.0.0` into numbers; throws on anything that is not a dotted version. */
function parts(v: string): number[] {
  if (!/^\d+(\.\d+){0,2}$/.test(v)) throw new Error(`invalid CNI version ${JSON.stringify(v)}`);
  const p = v.split(".").map(Number);
  while (p.length < 3) p.push(0);
  return p;
}

/** Compares two versions: negative when a < b, 0 when equal, positive when a > b. */
export function compareVersions(a: string, b: string): number {
  const pa = parts(a);
  const pb = parts(b);
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return pa[i] - pb[i];
  return 0;
}

/** a >= b */
export function atLeast(a: string, b: string): boolean {
  return compareVersions(a, b) >= 0;
}

/** Whether this runtime can speak `v`. */
export function isSupported(v: string): boolean {
  return (SUPPORTED_VERSIONS as readonly string[]).includes(v);
}

/**
 * Picks the version a list is run with: the highest of `cniVersion` and `cniVersions` that this runtime
 * supports (libcni picks the highest not newer than its own; cnilab also refuses versions older than
 * 0.3.0, whose results it does not parse). Throws, naming what was offered, when none fits.
 */
export function negotiate(declared: string[]): string {
  const usable = declared.filter((v) => {
    try {
      parts(v);
    } catch {
      return false;
    }
    return isSupported(v);
  });
  if (usable.length === 0) {
    throw new Error(
      `no supported cniVersion: the config offers ${
        declared.map((v) => JSON.stringify(v)).join(", ") || "none"
      }, ` +
        `cnilab's runtime speaks ${SUPPORTED_VERSIONS.join(", ")}`,
    );
  }
  return usable.sort(compareVersions)[usable.length - 1];
}

function ipVersion(address: string): "4" | "6" {
  return address.includes(":") ? "6" : "4";
}

/**
 * Converts a result between 0.3.x/0.4.0 and 1.x shapes (they differ only in `ips[].version`), as libcni's
 * `GetAsVersion` does for prevResult and cached results. Also accepts a 0.2.0-style `ip4`/`ip6` result.
 */
export function convertResult(result: Result, toVersion: string): Result {
  const legacy = result as Result & { ip4?: LegacyIp; ip6?: LegacyIp };
  let ips: ResultIp[] = result.ips ? result.ips.map((ip) => ({ ...ip })) : [];
  let routes = result.routes ? [...result.routes] : undefined;
  if (!result.ips && (legacy.ip4 || legacy.ip6)) {
    ips = [];
    routes = [];
    for (const old of [legacy.ip4, legacy.ip6]) {
      if (!old) continue;
      ips.push({ address: old.ip, ...(old.gateway ? { gateway: old.gateway } : {}) });
      routes.push(...(old.routes ?? []));
    }
  }
  const modern = atLeast(toVersion, "1.0.0");
  for (const ip of ips) {
    if (modern) delete ip.version;
    else ip.version = ipVersion(ip.address);
  }
  const out: Result = { cniVersion: toVersion };
  if (result.interfaces) out.interfaces = result.interfaces.map((i) => ({ ...i }));
  if (ips.length > 0 || result.ips) out.ips = ips;
  if (routes) out.routes = routes;
  if (result.dns) out.dns = result.dns;
  return out;
}

interface LegacyIp {
  ip: string;
  gateway?: string;
  routes?: { dst: string; gw?: string }[];
}
