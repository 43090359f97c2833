/**
 * Entering a container's network namespace by PATH (CNI_NETNS), like the reference plugins' `pkg/ns`.
 *
 * The plugin's main thread calls setns(2) (through bun:ffi: ~0.2 ms) and, while inside, writes the
 * container's sysctls in-process (/proc/sys/net follows the calling thread's namespace) and spawns
 * `ip -batch -` without `-n`: a child inherits the namespace of the thread that spawned it, so one `ip`
 * process configures the container side and no `nsenter`/`ip netns exec` is needed.
 *
 * Only safe where nothing else runs on the main thread while inside: a plugin executable, whose commands
 * spawn synchronously (`useBunBackend`). {@link NetnsHandle.run} always switches back, also on error.
 * @module
 */
import { closeSync, openSync, readFileSync, writeFileSync } from "node:fs";
import process from "node:process";
import { netnsPathKind } from "../../iproute2/mod.ts";

const CLONE_NEWNET = 0x40000000;

interface Setns {
  setns(fd: number, nstype: number): number;
}

let libc: Setns | undefined;

async function loadSetns(): Promise<Setns> {
  if (libc) return libc;
  // a variable specifier keeps `deno check` from resolving Bun's built-in module
  const specifier = "bun:ffi";
  const ffi = await import(specifier) as {
    dlopen(lib: string, symbols: Record<string, { args: string[]; returns: string }>): {
      symbols: Setns;
    };
  };
  libc = ffi.dlopen("libc.so.6", { setns: { args: ["i32", "i32"], returns: "i32" } }).symbols;
  return libc;
}

/** Why a CNI_NETNS path could not be entered. */
export class NetnsError extends Error {
  constructor(readonly path: string, readonly missing: boolean, why: string) {
    super(`CNI_NETNS ${JSON.stringify(path)} ${why}`);
    this.name = "NetnsError";
  }
}

/** An opened network namespace. */
export interface NetnsHandle {
  readonly path: string;
  /** Runs `fn` with the main thread inside the namespace; switches back afterwards, also when `fn` throws. */
  run<T>(fn: () => Promise<T> | T): Promise<T>;
  close(): void;
}

/**
 * Opens the namespace at `path` and checks it really is a network namespace (by entering it once).
 * A missing path is a {@link NetnsError} with `missing` true (DEL treats that as already gone).
 */
export async function openNetns(path: string): Promise<NetnsHandle> {
  const kind = netnsPathKind(path);
  if (kind !== "netns") {
    throw new NetnsError(
      path,
      kind === "missing",
      kind === "missing" ? "does not exist" : "is not a network namespace",
    );
  }
  const fd = openSync(path, "r");
  const host = openSync(`/proc/self/task/${process.pid}/ns/net`, "r");
  const setns = await loadSetns();
  const enter = () => {
    if (setns.setns(fd, CLONE_NEWNET) !== 0) {
      throw new NetnsError(path, false, "could not be entered (setns failed)");
    }
  };
  const leave = () => {
    if (setns.setns(host, CLONE_NEWNET) !== 0) {
      // staying in the container's namespace would make every later step act on the wrong side
      throw new Error("could not return to the host network namespace");
    }
  };
  try {
    enter();
    leave();
  } catch (e) {
    closeSync(fd);
    closeSync(host);
    throw e;
  }
  return {
    path,
    async run<T>(fn: () => Promise<T> | T): Promise<T> {
      enter();
      try {
        return await fn();
      } finally {
        leave();
      }
    },
    close() {
      closeSync(fd);
      closeSync(host);
    },
  };
}

/** Writes a sysctl (`net/ipv4/conf/eth0/arp_notify`) of the current thread's namespace; false if absent. */
export function writeSysctl(key: string, value: string): boolean {
  try {
    writeFileSync(`/proc/sys/${key}`, value);
    return true;
  } catch {
    return false;
  }
}

/** Reads a sysctl of the current thread's namespace (undefined when absent). */
export function readSysctl(key: string): string | undefined {
  try {
    return readFileSync(`/proc/sys/${key}`, "utf8").trim();
  } catch {
    return undefined;
  }
}

/**
 * True when a link of that name exists in the calling thread's namespace (/proc/thread-self/net/dev lists
 * the links of the namespace the thread is in; one small read instead of an `ip` process).
 */
export function linkExistsHere(name: string): boolean {
  const dev = readFileSync("/proc/thread-self/net/dev", "utf8");
  return dev.split("\n").slice(2).some((line) => line.slice(0, line.indexOf(":")).trim() === name);
}
