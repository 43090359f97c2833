/**
 * Helpers several check kinds use: the `ip` command a check shows, how a pattern reads in a sentence,
 * which addresses a ping may go to, reading JSON paths, running a command with text on stdin.
 * @module
 */
import { readFileSync } from "node:fs";
import { addr, netns, type Where } from "../../iproute2/mod.ts";
import { run } from "../../shell/mod.ts";
import type { Exercise } from "../exercise.ts";
import { type CheckResult, show } from "./_kind.ts";

/** True while the process runs (a zombie, which no parent reaped yet, counts as gone). */
export function processAliveNow(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(")") + 2));
  } catch {
    return false;
  }
}

export function ipCmd(args: string, ns?: string): string {
  return `ip ${ns ? `-n ${ns} ` : ""}${args}`;
}

export function where(ns?: string): Where | undefined {
  return ns ? { netns: ns } : undefined;
}

const UUID_RE = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";

/** A name pattern as people read it: `^cni-exw-<uuid>$` → `cni-exw-<uuid>`, `^exw` → `exw…`. */
export function describePattern(source: string): string {
  let text = source.replaceAll(UUID_RE, "<uuid>").replace(/\\(.)/g, "$1");
  const anchoredEnd = text.endsWith("$");
  text = text.replace(/^\^/, "").replace(/\$$/, "");
  return anchoredEnd ? text : `${text}…`;
}

/** `a`, `a and b`, `a, b and c` */
export function listing(items: string[]): string {
  return items.length <= 1 ? items.join("") : `${items.slice(0, -1).join(", ")} and ${items.at(-1)}`;
}

/** " in NETNS" (or nothing for the host). */
export function inNs(ns?: string): string {
  return ns ? ` in ${ns}` : "";
}

/** How a link differs from the wanted properties: ["has no master", "is down"]. */
export function linkDifferences(l: Record<string, unknown>, wanted: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const [k, want] of Object.entries(wanted)) {
    const have = l[k] ?? null;
    if (JSON.stringify(have) === JSON.stringify(want)) continue;
    if (k === "master") out.push(have === null ? "has no master" : `is on ${have}, not ${want}`);
    else if (k === "up") out.push(want ? "is down" : "is up");
    else if (k === "kind") out.push(have === null ? `is not a ${want}` : `is a ${have}, not a ${want}`);
    else out.push(`has ${k} ${show(have)}, not ${show(want)}`);
  }
  return out;
}

export async function nsMissing(
  ns: string | undefined,
  name: string,
  command: string,
): Promise<CheckResult | undefined> {
  if (!ns || await netns.exists(ns)) return undefined;
  return {
    name,
    command,
    status: "fail",
    expected: `namespace ${ns}`,
    actual: "no such namespace",
    observed: `there is no network namespace ${ns}`,
  };
}

/**
 * Addresses a check may send traffic to: loopback, and addresses inside the exercise's own namespaces,
 * on its own host links, or of its own pods. Anything else is refused.
 */
async function allowedTargets(ex: Exercise): Promise<Set<string>> {
  const out = new Set<string>();
  const nsNames = (await netns.list()).map((n) => n.name).filter((n) =>
    ex.names.netns.some((p) => new RegExp(p).test(n))
  );
  if (ex.names.pods.length > 0) {
    const { listPodSandbox } = await import("../../sandbox/mod.ts");
    for (const s of listPodSandbox()) if (ex.names.pods.includes(s.namespace)) nsNames.push(s.netns.name);
  }
  for (const ns of nsNames) for (const a of await addr.list({ netns: ns })) out.add(a.local);
  for (const a of await addr.list()) {
    if (ex.names.links.some((p) => new RegExp(p).test(a.dev))) out.add(a.local);
  }
  return out;
}

/** Sends one ping (the exercise's own addresses or loopback only); true on a reply. */
export async function pingOnce(
  ex: Exercise,
  to: string,
  from?: string,
): Promise<{ ok: boolean; command: string; refused?: string }> {
  const argv = ["ping", "-c", "1", "-W", "1", to];
  const command = from ? `ip netns exec ${from} ${argv.join(" ")}` : argv.join(" ");
  const loopback = /^127\./.test(to) || to === "::1";
  if (!loopback && !(await allowedTargets(ex)).has(to)) {
    return {
      ok: false,
      command,
      refused: `not pinged: ${to} is not (yet) an address inside this exercise's own namespaces or links`,
    };
  }
  const r = from
    ? await netns.exec(from, argv, { check: false, purpose: "read", timeoutMs: 5000 })
    : await run(argv, { check: false, purpose: "read", timeoutMs: 5000 });
  return { ok: r.code === 0, command };
}

/** `plugins.0.type` → `.plugins[0].type` (how jq spells it). */
export function jqPath(path: string): string {
  return path.split(".").map((k) => (/^\d+$/.test(k) ? `[${k}]` : `.${k}`)).join("");
}

export function dig(value: unknown, path: string): unknown {
  let cur = value;
  for (const key of path.split(".")) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[/^\d+$/.test(key) && Array.isArray(cur) ? Number(key) : key];
  }
  return cur;
}

/**
 * Runs a command with text on stdin through `sh` (`printf | cmd`), as the attendee would type it: a
 * command that exits without reading its stdin (a plugin answering VERSION) leaves only the shell's
 * `printf` to meet the closed pipe, never the check.
 */
export function runPiped(
  argv: string[],
  stdin: string,
  opts: { env?: Record<string, string>; timeoutMs?: number } = {},
) {
  return run(["sh", "-c", 'printf "%s" "$0" | "$@"', stdin, ...argv], {
    env: opts.env,
    check: false,
    purpose: "read",
    timeoutMs: opts.timeoutMs,
  });
}
