/**
 * host-local's on-disk store, byte for byte the reference plugin's, so both can share one dataDir:
 *
 * - `<dataDir>/<network>/` (mode 0755) holds everything of one network;
 * - `lock`: every change happens under an exclusive flock(2) on it (the Go plugin flocks the same file);
 * - one file per reserved address, named by the address (Go's canonical text), created O_EXCL, content
 *   `<containerID>\r\n<ifname>` without a trailing newline (files holding only the container ID are the
 *   format of older versions and still match);
 * - `last_reserved_ip.<rangeSetIndex>`: the last address handed out from that range set (round-robin).
 *
 * Bun has no flock: it is called from libc through bun:ffi, so the lock is the very same kernel lock the
 * Go plugin takes. The files are read and written through libc too (lib/sys/fs.ts): node:fs would cost
 * every plugin call milliseconds of start-up.
 * @module
 */
import {
  closeFile,
  listDir,
  makeDirs,
  openFile,
  readText,
  removeFile,
  writeAll,
  writeText,
} from "../../sys/fs.ts";
import type { Attachment } from "../../cni/types.ts";
import { flock, LOCK_EX, LOCK_UN } from "../../sys/flock.ts";
import { formatIp, type Ip, parseIp } from "../../cni/ip.ts";

const LINE_BREAK = "\r\n";
const LAST_IP_PREFIX = "last_reserved_ip.";

function lock(fd: number, op: number): void {
  if (flock(fd, op) !== 0) throw new Error(`flock(${op === LOCK_EX ? "LOCK_EX" : "LOCK_UN"}) failed`);
}

/** One reservation file: the address and who holds it. */
export interface Reservation {
  ip: Ip;
  /** The file's path. */
  path: string;
  containerId: string;
  /** "" for files written by old versions (container ID only). */
  ifname: string;
}

/** The store of one network, locked for as long as it is open. */
export class Store {
  private constructor(readonly dir: string, private readonly lockFd: number) {}

  /** Creates `<dataDir>/<network>` if needed and takes the exclusive lock (waits for other holders). */
  static open(dataDir: string, network: string): Store {
    const dir = `${dataDir}/${network}`;
    makeDirs(dir, 0o755);
    const fd = openFile(`${dir}/lock`, "a+", 0o600);
    try {
      lock(fd, LOCK_EX);
    } catch (e) {
      closeFile(fd);
      throw e;
    }
    return new Store(dir, fd);
  }

  /** Releases the lock. */
  close(): void {
    try {
      lock(this.lockFd, LOCK_UN);
    } finally {
      closeFile(this.lockFd);
    }
  }

  /**
   * Reserves `ip` for the attachment: false when someone holds it already. Records it as the last address
   * handed out from range set `rangeSet`.
   */
  reserve(ip: Ip, containerId: string, ifname: string, rangeSet: number): boolean {
    const path = `${this.dir}/${formatIp(ip)}`;
    let fd: number;
    try {
      fd = openFile(path, "wx", 0o600);
    } catch (e) {
      if ((e as { code?: string }).code === "EEXIST") return false;
      throw e;
    }
    try {
      writeAll(fd, containerId.trim() + LINE_BREAK + ifname, path);
      closeFile(fd);
    } catch (e) {
      removeFile(path);
      throw e;
    }
    writeText(`${this.dir}/${LAST_IP_PREFIX}${rangeSet}`, formatIp(ip), { mode: 0o600 });
    return true;
  }

  /** The last address handed out from range set `rangeSet`, if recorded and readable. */
  lastReserved(rangeSet: number): Ip | undefined {
    try {
      return parseIp(readText(`${this.dir}/${LAST_IP_PREFIX}${rangeSet}`));
    } catch {
      return undefined;
    }
  }

  /** Every reservation file in the network directory. */
  reservations(): Reservation[] {
    const out: Reservation[] = [];
    let names: string[];
    try {
      names = listDir(this.dir);
    } catch {
      return out;
    }
    for (const name of names) {
      const ip = parseIp(name);
      if (!ip) continue; // lock, last_reserved_ip.N
      const path = `${this.dir}/${name}`;
      let text: string;
      try {
        text = readText(path).trim();
      } catch {
        continue; // a directory or a file removed meanwhile
      }
      const at = text.indexOf(LINE_BREAK);
      out.push(
        at < 0
          ? { ip, path, containerId: text, ifname: "" }
          : { ip, path, containerId: text.slice(0, at), ifname: text.slice(at + LINE_BREAK.length) },
      );
    }
    return out;
  }

  /**
   * The reservations of one attachment. Like the reference: files naming container and ifname, or, when
   * there are none, files of old versions naming only the container.
   */
  held(containerId: string, ifname: string): Reservation[] {
    const all = this.reservations();
    const id = containerId.trim();
    const exact = all.filter((r) => r.containerId === id && r.ifname === ifname);
    return exact.length > 0 ? exact : all.filter((r) => r.containerId === id && r.ifname === "");
  }

  /** Releases every reservation of one attachment; returns the addresses released. */
  release(containerId: string, ifname: string): Ip[] {
    const held = this.held(containerId, ifname);
    for (const r of held) removeFile(r.path);
    return held.map((r) => r.ip);
  }

  /** Releases one address (its text as in the file name). */
  releaseAddress(address: string): void {
    const ip = parseIp(address);
    if (ip) removeFile(`${this.dir}/${formatIp(ip)}`);
  }

  /** GC: releases every reservation whose attachment is not in `valid`; returns the addresses released. */
  releaseAllBut(valid: readonly Attachment[]): Ip[] {
    const keep = new Set(valid.map((a) => a.containerID.trim() + LINE_BREAK + a.ifname));
    const keepIds = new Set(valid.map((a) => a.containerID.trim()));
    const released: Ip[] = [];
    for (const r of this.reservations()) {
      const used = r.ifname === ""
        ? keepIds.has(r.containerId)
        : keep.has(r.containerId + LINE_BREAK + r.ifname);
      if (used) continue;
      removeFile(r.path);
      released.push(r.ip);
    }
    return released;
  }
}
