/**
 * Helpers shared by the foundation's tests: a snapshot of the host's network state (to prove a run left it
 * as it found it) and a way to run the CLI as a user does.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { addr, link, netns, route } from "../lib/iproute2/mod.ts";
import { markedProcesses } from "../lib/ownership/mod.ts";
import { randomHex } from "../lib/util/mod.ts";

/** The repository root. */
export const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
/** The CLI entry point, as a user runs it. */
export const CNILAB = `${ROOT}/bin/cnilab`;

/** Random hex, for names that cannot collide with anything else on the machine. */
export function hex(bytes = 3): string {
  return randomHex(bytes);
}

function listTree(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      out.push(`${d}/${e.name}`);
      if (e.isDirectory()) walk(`${d}/${e.name}`);
    }
  };
  walk(dir);
  return out.sort();
}

/**
 * What a user would compare before and after a lab: links, addresses, routes, namespaces, ip_forward,
 * cnilab's files under /run and /var/lib/cni and /etc/netns, and processes marked as cnilab's.
 * Names passed in `ignore` (other tests' objects running at the same time) are left out.
 */
export async function hostSnapshot(): Promise<Record<string, unknown>> {
  return {
    links: (await link.list()).map((l) =>
      `${l.name} ${l.kind ?? ""} ${l.up ? "up" : "down"} ${l.master ?? ""}`
    ).sort(),
    addresses: (await addr.list()).map((a) => `${a.dev} ${a.cidr}`).sort(),
    routes: (await route.list()).map((r) => `${r.dst} ${r.via ?? ""} ${r.dev ?? ""}`).sort(),
    netns: (await netns.list()).map((n) => n.name).sort(),
    ipForward: readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim(),
    runFiles: listTree("/run/cnilab"),
    cniFiles: listTree("/var/lib/cni"),
    etcNetns: listTree("/etc/netns"),
    processes: markedProcesses().map((p) => p.pid).sort(),
  };
}

/** Runs the CLI like a user (a real child process); returns exit code and output. */
export async function cli(
  args: string[],
  opts: { env?: Record<string, string> } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn([CNILAB, ...args], {
    env: { ...process.env, NO_COLOR: "1", ...opts.env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
  ]);
  return { code: await proc.exited, stdout, stderr };
}
