/**
 * Small synchronous file operations over libc (lib/sys/libc.ts), for the code a CNI plugin runs on every
 * call: host-local's store, sysctls, finding an executable. node:fs would do the same, but importing it
 * costs a compiled Bun plugin 1-5 ms per call (docs/netlink.md). Errors carry `code` ("ENOENT", "EEXIST")
 * like node's, so callers test them the same way.
 * @module
 */
import { errnoName, strerror } from "./errno.ts";
import { cString, libcCalls } from "./libc.ts";

const O_RDONLY = 0;
const O_WRONLY = 1;
const O_RDWR = 2;
const O_CREAT = 0x40;
const O_EXCL = 0x80;
const O_TRUNC = 0x200;
const O_APPEND = 0x400;
const O_NONBLOCK = 0x800;
const O_CLOEXEC = 0x80000;
const AT_FDCWD = -100;
const STATX_TYPE_MODE_INO = 0x1 | 0x2 | 0x100;
/** File types in st_mode. */
export const S_IFMT = 0o170000;
export const S_IFREG = 0o100000;
export const S_IFDIR = 0o040000;
export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;
export const S_IFIFO = 0o010000;
export const S_IFSOCK = 0o140000;

/** A failed file operation: `code` is the errno's name, as in node:fs errors. */
export class FsError extends Error {
  readonly code: string;
  constructor(readonly call: string, readonly path: string, readonly errno: number) {
    super(`${call} ${path}: ${strerror(errno)}`);
    this.name = "FsError";
    this.code = errnoName(errno);
  }
}

const FLAGS: Record<string, number> = {
  r: O_RDONLY,
  /** read-only and non-blocking: never waits on a FIFO */
  rn: O_RDONLY | O_NONBLOCK,
  w: O_WRONLY | O_CREAT | O_TRUNC,
  wx: O_WRONLY | O_CREAT | O_EXCL,
  a: O_WRONLY | O_CREAT | O_APPEND,
  "a+": O_RDWR | O_CREAT | O_APPEND,
};

/** open(2) with node's flag letters (`r`, `w`, `wx`, `a`, `a+`); returns the descriptor. */
export function openFile(path: string, flags: keyof typeof FLAGS, mode = 0o666): number {
  const c = libcCalls();
  const fd = c.open(cString(path), FLAGS[flags] | O_CLOEXEC, mode);
  if (fd < 0) throw new FsError("open", path, c.errno());
  return fd;
}

/** close(2). */
export function closeFile(fd: number): void {
  libcCalls().close(fd);
}

/** Writes all of `text` to `fd`. */
export function writeAll(fd: number, text: string, path = `fd ${fd}`): void {
  const c = libcCalls();
  let bytes = new TextEncoder().encode(text);
  while (bytes.length > 0) {
    const n = c.write(fd, bytes, bytes.length);
    if (n < 0) throw new FsError("write", path, c.errno());
    bytes = bytes.subarray(n);
  }
}

/** The whole file as UTF-8 text. */
export function readText(path: string): string {
  const c = libcCalls();
  const fd = openFile(path, "r");
  try {
    const chunks: Uint8Array[] = [];
    for (;;) {
      const buf = new Uint8Array(4096);
      const n = c.read(fd, buf, buf.length);
      if (n < 0) throw new FsError("read", path, c.errno());
      if (n === 0) break;
      chunks.push(buf.subarray(0, n));
    }
    const all = new Uint8Array(chunks.reduce((s, b) => s + b.length, 0));
    let at = 0;
    for (const b of chunks) {
      all.set(b, at);
      at += b.length;
    }
    return new TextDecoder().decode(all);
  } finally {
    closeFile(fd);
  }
}

/** Writes `text` to `path` (created with `mode`, truncated; `wx`: only if it does not exist yet). */
export function writeText(
  path: string,
  text: string,
  options: { mode?: number; flags?: "w" | "wx" | "a" } = {},
) {
  const fd = openFile(path, options.flags ?? "w", options.mode ?? 0o666);
  try {
    writeAll(fd, text, path);
  } finally {
    closeFile(fd);
  }
}

/** `mkdir -p` with `mode` for the directories it creates. */
export function makeDirs(path: string, mode = 0o777): void {
  const c = libcCalls();
  const parts = path.split("/");
  for (let i = 1; i <= parts.length; i++) {
    const dir = parts.slice(0, i).join("/");
    if (dir === "") continue;
    if (c.mkdir(cString(dir), mode) !== 0) {
      const errno = c.errno();
      if (errno !== 17) throw new FsError("mkdir", dir, errno); // EEXIST: there already (or a file: caught below)
    }
  }
  const st = statPath(path);
  if (!st?.isDirectory) throw new FsError("mkdir", path, 20); // ENOTDIR
}

/** Removes a file; a missing one is fine. */
export function removeFile(path: string): void {
  const c = libcCalls();
  if (c.unlink(cString(path)) !== 0) {
    const errno = c.errno();
    if (errno !== 2) throw new FsError("unlink", path, errno);
  }
}

/** The names in a directory. */
export function listDir(path: string): string[] {
  const c = libcCalls();
  const names = c.readdir(cString(path));
  if (!names) throw new FsError("opendir", path, c.errno());
  return names;
}

/** What statx(2) says about a path (following symlinks); undefined when it does not exist. */
export interface PathStat {
  dev: string;
  ino: bigint;
  mode: number;
  isFile: boolean;
  isDirectory: boolean;
}

/** stat(2) of a path; undefined when there is nothing there (or it cannot be looked at). */
export function statPath(path: string): PathStat | undefined {
  try {
    return stat(path);
  } catch {
    return undefined;
  }
}

/** stat(2) of a path; an {@link FsError} (`code` ENOENT, ENOTDIR, EACCES ...) when it cannot be. */
export function stat(path: string): PathStat {
  const c = libcCalls();
  const buf = new Uint8Array(256);
  if (c.statx(AT_FDCWD, cString(path), 0, STATX_TYPE_MODE_INO, buf) !== 0) {
    throw new FsError("stat", path, c.errno());
  }
  const v = new DataView(buf.buffer);
  const mode = v.getUint16(28, true);
  return {
    dev: `${v.getUint32(136, true)}:${v.getUint32(140, true)}`,
    ino: v.getBigUint64(32, true),
    mode,
    isFile: (mode & S_IFMT) === S_IFREG,
    isDirectory: (mode & S_IFMT) === S_IFDIR,
  };
}
