/**
 * What a CNI_NETNS path is, decided once at the edge (the skeleton) before a plugin touches anything:
 *
 * - a network namespace other than the plugin's own: the container's sandbox;
 * - the plugin's OWN network namespace (same nsfs inode as /proc/thread-self/ns/net): the host. A runtime
 *   never means that; a plugin acting on it would configure (or, on DEL, tear down) the host's links;
 * - a namespace of another type (`/proc/self/ns/mnt`);
 * - missing, or a file that is not a namespace at all (a plain file or a directory left at the path after
 *   `ip netns del`): the sandbox is gone.
 *
 * The nsfs check is by st_dev (every namespace file lives on the one nsfs superblock), the type by
 * ioctl(NS_GET_NSTYPE), so nothing but a namespace file is ever opened (a FIFO or /dev/zero is not).
 * Through libc (lib/sys/fs.ts), not node:fs: this runs at the start of every plugin call.
 * @module
 */
import {
  closeFile,
  openFile,
  S_IFBLK,
  S_IFCHR,
  S_IFDIR,
  S_IFIFO,
  S_IFMT,
  S_IFREG,
  S_IFSOCK,
  stat,
} from "../sys/fs.ts";
import { namespaceType } from "../sys/nstype.ts";

/** The kinds of CNI_NETNS path. */
export type NetnsKind =
  | { kind: "netns" }
  | { kind: "self" }
  | { kind: "other-type"; type: string }
  | { kind: "missing" }
  | { kind: "not-a-namespace"; what: string };

function describe(mode: number): string {
  const type = mode & S_IFMT;
  if (type === S_IFDIR) return "a directory";
  if (type === S_IFREG) return "a regular file";
  if (type === S_IFCHR || type === S_IFBLK) return "a device";
  if (type === S_IFIFO) return "a FIFO";
  if (type === S_IFSOCK) return "a socket";
  return "not a namespace file";
}

/** Classifies a CNI_NETNS path (see the module comment). */
export function inspectNetns(path: string): NetnsKind {
  if (path === "") return { kind: "missing" };
  let st;
  try {
    st = stat(path);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === "ENOENT" || code === "ENOTDIR") return { kind: "missing" };
    return { kind: "not-a-namespace", what: `not readable (${code ?? (e as Error).message})` };
  }
  const own = stat("/proc/thread-self/ns/net");
  if (st.dev !== own.dev) return { kind: "not-a-namespace", what: describe(Number(st.mode)) };
  if (st.ino === own.ino) return { kind: "self" };
  let fd: number;
  try {
    fd = openFile(path, "rn");
  } catch (e) {
    return { kind: "not-a-namespace", what: `not openable (${(e as { code?: string }).code ?? e})` };
  }
  try {
    const type = namespaceType(fd);
    return type === "net" ? { kind: "netns" } : { kind: "other-type", type: type ?? "unknown" };
  } finally {
    closeFile(fd);
  }
}
