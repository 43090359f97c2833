/**
 * The safety rule, applied before any packet is sent: a trace goes only to loopback or to an address that
 * the kernel shows on an interface inside a namespace cnilab made (or on a host link carrying the mark of a
 * cnilab owner, such as a lab's bridge and its gateway address). "cnilab made it" is decided from the
 * ownership journals (lib/ownership), never from a name.
 * @module
 */
import { netnsNameOf } from "../iproute2/mod.ts";
import { addr, link, netns } from "../iproute2/mod.ts";
import { listOwners, MARK_PREFIX } from "../ownership/mod.ts";

/** A trace was refused: nothing was sent (exit 2). */
export class TraceRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TraceRefused";
  }
}

/** Network namespaces that a cnilab owner's journal records and that exist now. */
export async function cnilabNamespaces(): Promise<Set<string>> {
  const recorded = new Set<string>();
  for (const owner of await listOwners()) {
    for (const obj of owner.objects()) {
      if (obj.kind === "netns") recorded.add(obj.name);
      // a sandbox's namespace is recorded as the mount that pins it (/run/netns/cni-…)
      if (obj.kind === "mount") {
        const name = netnsNameOf(obj.path);
        if (name) recorded.add(name);
      }
    }
  }
  const existing = (await netns.list()).map((n) => n.name);
  return new Set(existing.filter((n) => recorded.has(n)));
}

async function ownerIds(): Promise<Set<string>> {
  return new Set((await listOwners()).map((o) => o.id));
}

/** Where an allowed address lives. */
export interface AddressHome {
  /** `host` or a namespace name. */
  ns: string;
  dev: string;
  loopback: boolean;
}

/** True for 127.0.0.0/8. */
export function isLoopback(ip: string): boolean {
  return /^127\.\d+\.\d+\.\d+$/.test(ip);
}

/** True for a dotted IPv4 address. */
export function isIPv4(text: string): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  return m !== null && m.slice(1).every((o) => Number(o) <= 255);
}

/**
 * Finds the address on an interface inside a cnilab namespace (or on a cnilab-marked host link), by reading
 * the kernel; refuses (throws {@link TraceRefused}) for anything else. Loopback is always allowed.
 */
export async function allowedDestination(ip: string, owned?: Set<string>): Promise<AddressHome> {
  if (!isIPv4(ip)) {
    throw new TraceRefused(`${JSON.stringify(ip)} is not an IPv4 address, a pod or a namespace`);
  }
  if (isLoopback(ip)) return { ns: "", dev: "lo", loopback: true };
  for (const ns of owned ?? await cnilabNamespaces()) {
    const found = (await addr.list({ netns: ns, family: 4 })).find((a) => a.local === ip);
    if (found) return { ns, dev: found.dev, loopback: false };
  }
  const owners = await ownerIds();
  const marked = (await link.list()).filter((l) =>
    l.alias?.startsWith(MARK_PREFIX) && owners.has(l.alias.slice(MARK_PREFIX.length))
  );
  if (marked.length > 0) {
    const found = (await addr.list({ family: 4 })).find((a) =>
      a.local === ip && marked.some((l) => l.name === a.dev)
    );
    if (found) return { ns: "host", dev: found.dev, loopback: false };
  }
  throw new TraceRefused(
    `refusing to trace to ${ip}: it is not loopback and no namespace cnilab made holds it (nothing was sent)`,
  );
}

/** Refuses a source namespace cnilab did not make. */
export async function allowedSource(ns: string, owned?: Set<string>): Promise<void> {
  if (ns === "host") return;
  if (!(await netns.exists(ns))) throw new TraceRefused(`no network namespace ${ns}`);
  if (!(owned ?? await cnilabNamespaces()).has(ns)) {
    throw new TraceRefused(
      `refusing to trace from ${ns}: cnilab did not make that namespace (nothing was sent)`,
    );
  }
}
