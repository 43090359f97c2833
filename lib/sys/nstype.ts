/**
 * ioctl(fd, NS_GET_NSTYPE) (linux/nsfs.h): which kind of namespace an nsfs file descriptor refers to
 * (CLONE_NEWNET for a network namespace). A bind mount of a namespace (`/var/run/netns/NAME`) looks like
 * any other nsfs file to stat and readlink; only the kernel can say its type. Called from libc through
 * the runtime's FFI, like flock (./flock.ts).
 * @module
 */

/** NS_GET_NSTYPE = _IO(0xb7, 0x3). */
const NS_GET_NSTYPE = 0xb703;

/** The namespace types NS_GET_NSTYPE answers (the CLONE_NEW* flags). */
export const NS_TYPES: Record<number, string> = {
  0x00020000: "mnt",
  0x02000000: "cgroup",
  0x04000000: "uts",
  0x08000000: "ipc",
  0x10000000: "user",
  0x20000000: "pid",
  0x40000000: "net",
  0x00000080: "time",
};

type IoctlFn = (fd: number, request: number) => number;

interface DenoFfi {
  dlopen(lib: string, symbols: Record<string, { parameters: string[]; result: string }>): {
    symbols: { ioctl: IoctlFn };
  };
}

interface BunFfi {
  dlopen(lib: string, symbols: Record<string, { args: string[]; returns: string }>): {
    symbols: { ioctl: IoctlFn };
  };
}

/** Bun's require (present in its ES modules and CommonJS alike; Deno never gets this far). */
declare const require: (id: string) => unknown;

let ioctlFn: IoctlFn | undefined;

function load(): IoctlFn {
  const deno = (globalThis as unknown as { Deno?: DenoFfi }).Deno;
  if (deno?.dlopen) {
    return deno.dlopen("libc.so.6", { ioctl: { parameters: ["i32", "u64"], result: "i32" } }).symbols.ioctl;
  }
  const ffi = require("bun:ffi") as BunFfi;
  return ffi.dlopen("libc.so.6", { ioctl: { args: ["i32", "u64"], returns: "i32" } }).symbols.ioctl;
}

/** The namespace type of an open nsfs file ("net", "mnt", …); undefined when the kernel does not say. */
export function namespaceType(fd: number): string | undefined {
  ioctlFn ??= load();
  const t = ioctlFn(fd, NS_GET_NSTYPE);
  return t < 0 ? undefined : NS_TYPES[t] ?? `type 0x${t.toString(16)}`;
}
