/**
 * Readers of what a single `ip` lookup answers, beyond the lists of ./ip.ts: the one route lookup a packet
 * would get (`ip route get`), parsed once into {@link RouteGet}.
 * @module
 */
import { ip, type Where } from "./ip.ts";

/** `ip route get`'s answer (the one route lookup a packet would get). */
export interface RouteGet {
  ok: boolean;
  /** The kernel's error when there is no route ("Network is unreachable"). */
  error?: string;
  type?: string;
  dev?: string;
  gateway?: string;
  prefsrc?: string;
}

/**
 * Runs `ip -json route get DST [from SRC iif IIF]` (in `where`'s namespace): a failed lookup is an answer
 * too (`ok: false` with the kernel's words), not an exception.
 */
export async function routeGet(
  dst: string,
  opts: Where & { from?: { src: string; iif: string } } = {},
): Promise<RouteGet> {
  const args = [
    "-json",
    "route",
    "get",
    dst,
    ...(opts.from ? ["from", opts.from.src, "iif", opts.from.iif] : []),
  ];
  const r = await ip(args, { ...opts, check: false, purpose: "read" });
  if (r.code !== 0) {
    return { ok: false, error: r.stderr.replace(/^RTNETLINK answers: /, "").trim() || `exit ${r.code}` };
  }
  // ip -json route get prints one object: {"dst","gateway"?,"dev","prefsrc"?,"type"?}
  const [route] = JSON.parse(r.stdout) as {
    type?: string;
    dev?: string;
    gateway?: string;
    prefsrc?: string;
  }[];
  return { ok: true, type: route?.type, dev: route?.dev, gateway: route?.gateway, prefsrc: route?.prefsrc };
}
