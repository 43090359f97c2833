/**
 * flock(2), which neither Bun nor Deno expose: called from libc through the runtime's FFI (Deno.dlopen, or
 * bun:ffi). The kernel drops a flock when its holder dies, so a kill -9 never leaves a stale lock, and it is
 * the very lock Go programs take with syscall.Flock (host-local shares its data dir with the reference).
 * @module
 */

/** flock(2) operations. */
export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;

type FlockFn = (fd: number, op: number) => number;

interface DenoFfi {
  dlopen(lib: string, symbols: Record<string, { parameters: string[]; result: string }>): {
    symbols: { flock: FlockFn };
  };
}

interface BunFfi {
  dlopen(lib: string, symbols: Record<string, { args: string[]; returns: string }>): {
    symbols: { flock: FlockFn };
  };
}

/** Bun's require (present in its ES modules and CommonJS alike; Deno never gets this far). */
declare const require: (id: string) => unknown;

let flockFn: FlockFn | undefined;

function load(): FlockFn {
  const deno = (globalThis as unknown as { Deno?: DenoFfi }).Deno;
  if (deno?.dlopen) {
    return deno.dlopen("libc.so.6", { flock: { parameters: ["i32", "i32"], result: "i32" } }).symbols.flock;
  }
  // Bun (ESM, and the plugins' CommonJS bundle): a synchronous require that Deno never reaches
  const ffi = require("bun:ffi") as BunFfi;
  return ffi.dlopen("libc.so.6", { flock: { args: ["i32", "i32"], returns: "i32" } }).symbols.flock;
}

/** Calls flock(2) on an open file descriptor; returns 0 on success, -1 when it failed (or would block). */
export function flock(fd: number, op: number): number {
  flockFn ??= load();
  return flockFn(fd, op);
}
