/**
 * Reading and writing sysctls through /proc/sys, for the whole tree: the bridge plugin (inside a
 * container's namespace: /proc/sys/net shows the namespace of the thread that reads it) and the host's
 * sysctl ledger (lib/ownership). Through libc (./fs.ts), not node:fs: a plugin reads them on every call.
 * @module
 */
import { readText, writeText } from "./fs.ts";

/**
 * The /proc/sys file of a key, written either way sysctl(8) accepts: dotted (`net.ipv4.ip_forward`) or as a
 * path (`net/ipv4/conf/eth0.100/arp_notify`: a key with a `/` is a path, so a dot in a link name stays).
 */
export function sysctlPath(key: string): string {
  return `/proc/sys/${key.includes("/") ? key : key.replaceAll(".", "/")}`;
}

/** Reads a sysctl of the calling thread's namespace (undefined when absent). */
export function readSysctl(key: string): string | undefined {
  try {
    return readText(sysctlPath(key)).trim();
  } catch {
    return undefined;
  }
}

/** Writes a sysctl of the calling thread's namespace; false when absent or refused. */
export function writeSysctl(key: string, value: string): boolean {
  try {
    writeText(sysctlPath(key), value);
    return true;
  } catch {
    return false;
  }
}
