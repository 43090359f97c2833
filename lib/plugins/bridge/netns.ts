/**
 * Entering a container's network namespace by PATH (CNI_NETNS), like the reference plugins' `pkg/ns`.
 *
 * Links, addresses and routes need no entering: the bridge opens a netlink socket inside the namespace
 * (lib/netlink) and every request on it acts there. What still needs the thread inside is /proc/sys/net,
 * which follows the calling thread's namespace: the container's sysctls are written with the main thread
 * switched in by setns(2) for the moment of the write ({@link NetnsHandle.run}).
 *
 * Only safe where nothing else runs on the main thread while inside: a plugin executable.
 * @module
 */
import { closeFd, enterNetnsFd, openFd, SyscallError } from "../../netlink/mod.ts";

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
  /** The open namespace file (what IFLA_NET_NS_FD names to create a link inside). */
  readonly fd: number;
  /** Runs `fn` with the main thread inside the namespace; switches back afterwards, also when `fn` throws. */
  run<T>(fn: () => T): T;
  close(): void;
}

const ENOENT = 2;

/**
 * Opens the namespace at `path` and checks it really is a network namespace (by entering it once: setns
 * refuses any other file). A missing path is a {@link NetnsError} with `missing` true (DEL treats that as
 * already gone).
 */
export function openNetns(path: string): NetnsHandle {
  let fd: number;
  try {
    fd = openFd(path);
  } catch (e) {
    const missing = e instanceof SyscallError && e.errno === ENOENT;
    throw new NetnsError(
      path,
      missing,
      missing ? "does not exist" : `could not be opened (${(e as Error).message})`,
    );
  }
  let host: number;
  try {
    host = openFd("/proc/thread-self/ns/net");
  } catch (e) {
    closeFd(fd);
    throw e;
  }
  const enter = () => {
    try {
      enterNetnsFd(fd);
    } catch {
      throw new NetnsError(path, false, "is not a network namespace");
    }
  };
  // staying in the container's namespace would make every later step act on the wrong side
  const leave = () => enterNetnsFd(host, "back to the host network namespace");
  try {
    enter();
    leave();
  } catch (e) {
    closeFd(fd);
    closeFd(host);
    throw e;
  }
  return {
    path,
    fd,
    run<T>(fn: () => T): T {
      enter();
      try {
        return fn();
      } finally {
        leave();
      }
    },
    close() {
      closeFd(fd);
      closeFd(host);
    },
  };
}

/** The container's sysctls are read and written with the thread inside (lib/sys/sysctl.ts). */
export { readSysctl, writeSysctl } from "../../sys/sysctl.ts";
