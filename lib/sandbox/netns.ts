/**
 * The pod's network namespace, created and pinned the way containerd does it (pkg/netns):
 *
 * 1. an empty file `/var/run/netns/cni-<uuid>` is created with O_EXCL (a name clash fails instead of
 *    reusing someone else's namespace);
 * 2. a short-lived helper enters a NEW network namespace and bind-mounts its namespace file
 *    (`/proc/<pid>/ns/net` of the single-threaded helper, i.e. the thread's `/proc/<pid>/task/<pid>/ns/net`)
 *    onto that file. The bind mount keeps the namespace alive with no process in it, so it outlives the
 *    helper, survives the holder being killed, and is what CNI_NETNS names.
 *
 * The helper is util-linux `unshare --net=<file> true`: unshare(2)s CLONE_NEWNET and bind-mounts the new
 * namespace onto <file> before exec'ing `true`. We do not use `ip netns add`, although it pins the same way,
 * because it also bind-mounts /var/run/netns onto itself and makes it shared, and creates the file itself:
 * the O_EXCL step, which is the part containerd relies on, would be hidden from the transcript.
 *
 * Removal is containerd's: lazy unmount (MNT_DETACH) then unlink, and it is fine to repeat.
 * @module
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, realpathSync, rmSync } from "node:fs";
import type { Owner } from "../ownership/mod.ts";
import { run } from "../shell/mod.ts";
import { randomHex } from "../util/mod.ts";

/** Where named network namespaces live (iproute2's and containerd's convention). */
export const NETNS_DIR = "/var/run/netns";

/** A pinned network namespace. */
export interface PinnedNetns {
  /** `cni-1a2b3c4d-…` */
  name: string;
  /** `/var/run/netns/cni-1a2b3c4d-…`: what CNI_NETNS is set to. */
  path: string;
}

/** containerd's name: `cni-` and 16 random bytes formatted as a UUID (8-4-4-4-12 hex). */
export function newNetnsName(): string {
  const b = randomHex(16);
  return `cni-${b.slice(0, 8)}-${b.slice(8, 12)}-${b.slice(12, 16)}-${b.slice(16, 20)}-${b.slice(20)}`;
}

/** True when `path` is a mount point in this process's mount namespace. */
export function isMountPoint(path: string): boolean {
  const target = path.startsWith("/var/run/") ? path.replace(/^\/var\/run\//, "/run/") : path;
  try {
    return readFileSync("/proc/self/mountinfo", "utf8").split("\n").some((l) => {
      const mp = l.split(" ")[4];
      return mp === path || mp === target;
    });
  } catch {
    return false;
  }
}

/**
 * Creates and pins a new network namespace for a sandbox. Recorded with the owner before anything is made,
 * so `cnilab clean` unmounts and removes it even if this process is killed in between.
 */
export async function pinNewNetns(owner: Owner): Promise<PinnedNetns> {
  mkdirSync(NETNS_DIR, { recursive: true, mode: 0o755 });
  const name = newNetnsName();
  const path = `${NETNS_DIR}/${name}`;
  // recorded under its real path (/run/netns/…): that is how the kernel lists the mount point
  await owner.record({ kind: "mount", path: `${realpathSync(NETNS_DIR)}/${name}` });
  // O_EXCL: fail rather than mount over a file someone else created
  closeSync(openSync(path, "wx", 0o444));
  try {
    await run(["unshare", `--net=${path}`, "true"]);
  } catch (error) {
    rmSync(path, { force: true });
    throw error;
  }
  return { name, path };
}

/** Unpins a namespace: lazy unmount, then remove the file. Safe to call again, or on a missing file. */
export async function unpinNetns(path: string): Promise<void> {
  if (isMountPoint(path)) await run(["umount", "--lazy", path]);
  if (existsSync(path)) rmSync(path, { force: true });
}

/**
 * Makes /var/run/netns a shared mount point, as `ip netns add` does on first use. Needed before a holder
 * gets its own mount namespace (shared PID namespace with its own /proc): with shared propagation, the
 * holder's copy of the mount table is a slave and sees other pods' namespaces unmounted, instead of
 * keeping them alive.
 */
export async function ensureSharedNetnsDir(): Promise<void> {
  mkdirSync(NETNS_DIR, { recursive: true, mode: 0o755 });
  const info = readFileSync("/proc/self/mountinfo", "utf8").split("\n").find((l) => {
    const mp = l.split(" ")[4];
    return mp === "/run/netns" || mp === NETNS_DIR;
  });
  if (!info) await run(["mount", "--bind", NETNS_DIR, NETNS_DIR]);
  if (!info || !/ shared:\d+/.test(info)) await run(["mount", "--make-shared", NETNS_DIR]);
}
