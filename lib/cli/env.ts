/**
 * What cnilab needs from the machine, shared by `cnilab doctor` and the commands that create objects.
 * @module
 */
import { readFileSync } from "node:fs";
import process from "node:process";
import { which } from "../shell/mod.ts";
import { UsageError } from "./command.ts";

/** A tool cnilab runs, with the Debian package that provides it. */
export interface Tool {
  name: string;
  pkg: string;
  why: string;
}

/** Tools the labs need. */
export const LAB_TOOLS: Tool[] = [
  { name: "ip", pkg: "iproute2", why: "namespaces, links, addresses, routes" },
  { name: "nsenter", pkg: "util-linux", why: "start processes inside a pod namespace" },
  { name: "ping", pkg: "iputils-ping", why: "connectivity checks" },
  { name: "busybox", pkg: "busybox-static", why: "the app and web server processes, wget" },
  { name: "catatonit", pkg: "catatonit", why: "the pause holder process" },
  { name: "tcpdump", pkg: "tcpdump", why: "cnilab trace: a capture on every hop" },
];

/** The capability bits cnilab needs (see capabilities(7)). */
const CAPS = { CAP_NET_ADMIN: 12, CAP_SYS_ADMIN: 21 } as const;

/** The effective capabilities of this process, by name. */
export function effectiveCaps(): Record<keyof typeof CAPS, boolean> {
  let eff = 0n;
  try {
    const m = /CapEff:\s*([0-9a-f]+)/.exec(readFileSync("/proc/self/status", "utf8"));
    if (m) eff = BigInt(`0x${m[1]}`);
  } catch {
    // no /proc: reported as missing capabilities
  }
  const has = (bit: number) => (eff & (1n << BigInt(bit))) !== 0n;
  return { CAP_NET_ADMIN: has(CAPS.CAP_NET_ADMIN), CAP_SYS_ADMIN: has(CAPS.CAP_SYS_ADMIN) };
}

/** Refuses to go on without root (or CAP_NET_ADMIN + CAP_SYS_ADMIN). */
export function requireRoot(): void {
  const caps = effectiveCaps();
  if (process.getuid?.() === 0 && caps.CAP_NET_ADMIN) return;
  if (caps.CAP_NET_ADMIN && caps.CAP_SYS_ADMIN) return;
  throw new UsageError("needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN to create namespaces); run it with sudo");
}

/** Refuses to go on when a tool is missing, naming the package that brings it. */
export function requireTools(tools: Tool[] = LAB_TOOLS): void {
  const missing = tools.filter((t) => !which(t.name));
  if (missing.length === 0) return;
  const names = missing.map((t) => t.name).join(", ");
  const pkgs = [...new Set(missing.map((t) => t.pkg))].join(" ");
  throw new UsageError(`${names} not found; install with: apt-get install -y ${pkgs}`);
}
