/**
 * Who may talk to the UI server. Safe by default, the way Jupyter is: a random token in the printed URL, a
 * cookie after the first visit, the Host and Origin headers checked (a page on another site, or a DNS name
 * rebound to 127.0.0.1, cannot read or drive it), and every state change a POST that carries the token in a
 * header (a cookie alone never changes state: no cross-site request forgery).
 * @module
 */
import { randomHex } from "../util/mod.ts";

/** What the guard knows: the token and the `host:port` values this server answers to. */
export interface GuardOptions {
  token: string;
  /** Allowed Host header values, e.g. `127.0.0.1:8025`, `localhost:8025`. */
  hosts: string[];
  /** The cookie's name (one per port, so two servers do not overwrite each other's). */
  cookie: string;
}

/** The guard's answer for one request. */
export type Verdict =
  | { ok: true; firstVisit: boolean }
  | { ok: false; status: 403 | 405; reason: string };

/** A fresh random token: 24 bytes, hex. */
export function newToken(): string {
  return randomHex(24);
}

/** The Host values a server on `hostname:port` answers to. */
export function allowedHosts(hostname: string, port: number): string[] {
  const loopback = hostname === "127.0.0.1" || hostname === "localhost" || hostname === "::1";
  const names = loopback
    ? ["127.0.0.1", "localhost", "[::1]"]
    : [hostname.includes(":") ? `[${hostname}]` : hostname];
  return names.map((n) => `${n}:${port}`);
}

function same(a: string, b: string): boolean {
  // constant time in the length of the token: a wrong guess says nothing about how much of it was right
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

function cookieValue(header: string | null, name: string): string | undefined {
  for (const part of (header ?? "").split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === name) return v.join("=");
  }
  return undefined;
}

/** Paths that change state: POST only, token in the `X-Cnilab-Token` header. */
export const STATE_CHANGING = new Set(["/api/step", "/api/trace"]);

/** Checks one request: Host, Origin, method and token. */
export function check(req: Request, opts: GuardOptions): Verdict {
  const url = new URL(req.url);
  const host = req.headers.get("host") ?? "";
  if (!opts.hosts.includes(host)) {
    return { ok: false, status: 403, reason: `foreign Host ${host || "(none)"}` };
  }
  const origin = req.headers.get("origin");
  if (origin !== null && !opts.hosts.some((h) => origin === `http://${h}`)) {
    return { ok: false, status: 403, reason: `foreign Origin ${origin}` };
  }
  if (req.headers.get("sec-fetch-site") === "cross-site") {
    return { ok: false, status: 403, reason: "a cross-site request" };
  }
  const changes = STATE_CHANGING.has(url.pathname);
  if (changes && req.method !== "POST") {
    return { ok: false, status: 405, reason: "state changes only by POST" };
  }
  if (!changes && req.method !== "GET" && req.method !== "HEAD") {
    return { ok: false, status: 405, reason: `${req.method} is not allowed here` };
  }
  const header = req.headers.get("x-cnilab-token");
  if (changes) {
    return header !== null && same(header, opts.token)
      ? { ok: true, firstVisit: false }
      : { ok: false, status: 403, reason: "a POST needs the token in X-Cnilab-Token" };
  }
  const query = url.searchParams.get("token");
  if (query !== null && same(query, opts.token)) return { ok: true, firstVisit: true };
  const cookie = cookieValue(req.headers.get("cookie"), opts.cookie);
  if (cookie !== undefined && same(cookie, opts.token)) return { ok: true, firstVisit: false };
  if (header !== null && same(header, opts.token)) return { ok: true, firstVisit: false };
  return { ok: false, status: 403, reason: "no token: open the URL cnilab ui printed" };
}
