/**
 * The libc calls the CNI plugins make directly (netlink sockets, setns, small files), through the
 * runtime's FFI: bun:ffi in the compiled plugin executables, Deno.dlopen where the same code runs under
 * Deno (the pattern of lib/sys/flock.ts).
 *
 * Why not node:fs: in a compiled Bun plugin, the first `import "node:fs"` costs 1-5 ms of every CNI call
 * (measured in docs/netlink.md), more than all of cnilab's own modules together. Loaded on first use.
 * @module
 */

/** The libc functions, with byte buffers for pointers and numbers for sizes. */
export interface Libc {
  socket(domain: number, type: number, protocol: number): number;
  bind(fd: number, addr: Uint8Array, len: number): number;
  sendto(fd: number, buf: Uint8Array, len: number, flags: number, addr: Uint8Array, alen: number): number;
  recv(fd: number, buf: Uint8Array, len: number, flags: number): number;
  close(fd: number): number;
  /** open(2) of a NUL-terminated path (mode for O_CREAT). */
  open(path: Uint8Array, flags: number, mode: number): number;
  read(fd: number, buf: Uint8Array, len: number): number;
  write(fd: number, buf: Uint8Array, len: number): number;
  mkdir(path: Uint8Array, mode: number): number;
  unlink(path: Uint8Array): number;
  /** statx(2) into a 256-byte buffer (its layout is the same on every architecture). */
  statx(dirfd: number, path: Uint8Array, flags: number, mask: number, buf: Uint8Array): number;
  /** The names in a directory (without . and ..); undefined with errno set when it cannot be read. */
  readdir(path: Uint8Array): string[] | undefined;
  setns(fd: number, nstype: number): number;
  /** The calling thread's errno after a call that failed. */
  errno(): number;
}

type Sig = [string[], string];

// "ptr": a byte buffer we pass; "handle": a pointer libc gives back (DIR *, &errno).
// ssize_t results are declared i32: netlink messages stay far below 2 GiB and -1 keeps its sign
const SIGNATURES: Record<string, Sig> = {
  socket: [["i32", "i32", "i32"], "i32"],
  bind: [["i32", "ptr", "u32"], "i32"],
  sendto: [["i32", "ptr", "u64", "i32", "ptr", "u32"], "i32"],
  recv: [["i32", "ptr", "u64", "i32"], "i32"],
  close: [["i32"], "i32"],
  // open(2) is variadic; its mode travels in the third integer register like a named argument
  open: [["ptr", "i32", "u32"], "i32"],
  read: [["i32", "ptr", "u64"], "i32"],
  write: [["i32", "ptr", "u64"], "i32"],
  mkdir: [["ptr", "u32"], "i32"],
  unlink: [["ptr"], "i32"],
  statx: [["i32", "ptr", "i32", "u32", "ptr"], "i32"],
  opendir: [["ptr"], "handle"],
  readdir: [["handle"], "handle"],
  closedir: [["handle"], "i32"],
  setns: [["i32", "i32"], "i32"],
  __errno_location: [[], "handle"],
};

interface DenoFfi {
  dlopen(
    lib: string,
    symbols: Record<string, { parameters: string[]; result: string }>,
  ): { symbols: Record<string, (...args: unknown[]) => unknown> };
  UnsafePointerView: new (
    p: unknown,
  ) => { getInt32(offset?: number): number; getCString(offset?: number): string };
}

interface BunFfi {
  dlopen(
    lib: string,
    symbols: Record<string, { args: string[]; returns: string }>,
  ): { symbols: Record<string, (...args: unknown[]) => unknown> };
  read: { i32(p: unknown, offset?: number): number };
  CString: new (p: unknown, offset?: number) => { toString(): string };
}

/** Offset of d_name in glibc's struct dirent on 64-bit Linux (d_ino 8, d_off 8, d_reclen 2, d_type 1). */
const D_NAME = 19;

/** Bun's require (present in its ES modules and CommonJS alike; Deno never gets this far). */
declare const require: (id: string) => unknown;

let libc: Libc | undefined;

function load(): Libc {
  const deno = (globalThis as unknown as { Deno?: DenoFfi }).Deno;
  let s: Record<string, (...args: unknown[]) => unknown>;
  let errno: () => number;
  let cstring: (p: unknown, offset: number) => string;
  if (deno?.dlopen) {
    const defs: Record<string, { parameters: string[]; result: string }> = {};
    for (const [name, [args, result]] of Object.entries(SIGNATURES)) {
      const map = (t: string) =>
        t === "ptr" ? "buffer" : t === "handle" ? "pointer" : t === "u64" ? "usize" : t;
      defs[name] = { parameters: args.map(map), result: map(result) };
    }
    s = deno.dlopen("libc.so.6", defs).symbols;
    errno = () => new deno.UnsafePointerView(s.__errno_location()).getInt32();
    cstring = (p, offset) => new deno.UnsafePointerView(p).getCString(offset);
  } else {
    const ffi = require("bun:ffi") as BunFfi;
    const defs: Record<string, { args: string[]; returns: string }> = {};
    const map = (t: string) => t === "handle" ? "ptr" : t;
    for (const [name, [args, returns]] of Object.entries(SIGNATURES)) {
      defs[name] = { args: args.map(map), returns: map(returns) };
    }
    s = ffi.dlopen("libc.so.6", defs).symbols;
    errno = () => ffi.read.i32(s.__errno_location());
    cstring = (p, offset) => new ffi.CString(p, offset).toString();
  }
  const isNull = (p: unknown) => p === null || p === 0 || p === 0n;
  return {
    socket: (d, t, p) => s.socket(d, t, p) as number,
    bind: (fd, a, l) => s.bind(fd, a, l) as number,
    sendto: (fd, b, l, f, a, al) => Number(s.sendto(fd, b, l, f, a, al)),
    recv: (fd, b, l, f) => Number(s.recv(fd, b, l, f)),
    close: (fd) => s.close(fd) as number,
    open: (p, f, m) => s.open(p, f, m) as number,
    read: (fd, b, l) => Number(s.read(fd, b, l)),
    write: (fd, b, l) => Number(s.write(fd, b, l)),
    mkdir: (p, m) => s.mkdir(p, m) as number,
    unlink: (p) => s.unlink(p) as number,
    statx: (d, p, f, m, b) => s.statx(d, p, f, m, b) as number,
    readdir: (p) => {
      const dir = s.opendir(p);
      if (isNull(dir)) return undefined;
      const names: string[] = [];
      try {
        for (let e = s.readdir(dir); !isNull(e); e = s.readdir(dir)) {
          const name = cstring(e, D_NAME);
          if (name !== "." && name !== "..") names.push(name);
        }
      } finally {
        s.closedir(dir);
      }
      return names;
    },
    setns: (fd, t) => s.setns(fd, t) as number,
    errno,
  };
}

/** libc, loaded on first use. */
export function libcCalls(): Libc {
  libc ??= load();
  return libc;
}

/** A path as the NUL-terminated bytes open(2) takes. */
export function cString(text: string): Uint8Array {
  const bytes = new TextEncoder().encode(text);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}
