/**
 * A NETLINK_ROUTE socket and the request/answer protocol: each request gets the next sequence number,
 * the socket reads until the kernel's answer for that number (an ACK, the object asked for, or every part
 * of a dump up to NLMSG_DONE), and NLMSG_ERROR becomes a {@link NetlinkError} saying what `ip` would.
 * @module
 */
import { libcCalls } from "../sys/libc.ts";
import { errnoName, strerror } from "../sys/errno.ts";
import { closeFile, FsError, openFile } from "../sys/fs.ts";
import { type Message, type MessageBuilder, NLMSG_DONE, NLMSG_ERROR, splitMessages } from "./_wire.ts";
import { describeRequest, traceLine, tracing } from "./trace.ts";

const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0x80000;
const NETLINK_ROUTE = 0;
const AF_NETLINK = 16;
const CLONE_NEWNET = 0x40000000;

/** The kernel refused a request: errno, its name and the words `ip` prints ("File exists"). */
export class NetlinkError extends Error {
  constructor(
    /** The request, decoded (`RTM_NEWLINK bridge cni0`). */
    readonly request: string,
    readonly errno: number,
  ) {
    super(`${request}: ${strerror(errno)}`);
    this.name = "NetlinkError";
  }
  /** `EEXIST`, `ENODEV`, ... */
  get code(): string {
    return errnoName(this.errno);
  }
  /** What strerror says: "File exists", "No such device". */
  get words(): string {
    return strerror(this.errno);
  }
}

/** A system call around the socket failed (socket, setns, open, sendto, recv). */
export class SyscallError extends Error {
  constructor(readonly call: string, readonly errno: number, what = "") {
    super(`${call}${what ? ` ${what}` : ""}: ${strerror(errno)}`);
    this.name = "SyscallError";
  }
}

/** Opens a file for its descriptor (a netns path), through libc (lib/sys/fs.ts). */
export function openFd(path: string): number {
  try {
    return openFile(path, "r");
  } catch (error) {
    if (error instanceof FsError) throw new SyscallError("open", error.errno, path);
    throw error;
  }
}

/** Closes a descriptor from {@link openFd}. */
export const closeFd: (fd: number) => void = closeFile;

/** setns(fd, CLONE_NEWNET) for the calling thread; throws on failure. */
export function enterNetnsFd(fd: number, what = ""): void {
  const c = libcCalls();
  if (c.setns(fd, CLONE_NEWNET) !== 0) throw new SyscallError("setns", c.errno(), what);
}

/** Where a socket lives: the namespace of the thread that opened it. */
export interface OpenOptions {
  /**
   * A network namespace path (e.g. CNI_NETNS): the thread enters it, opens the socket there and comes
   * back (a netlink socket stays bound to the namespace it was created in), so every request on it acts
   * inside while the thread stays where it was.
   */
  netns?: string;
  /** A label for trace lines (default: the namespace's file name). */
  label?: string;
}

const RECV_SIZE = 65536;

/** One rtnetlink socket. Not for concurrent use (requests are answered in order). */
export class NetlinkSocket {
  private seq = Math.floor(Date.now() / 1000) >>> 0;
  private readonly buf = new Uint8Array(RECV_SIZE);
  private readonly addr = new Uint8Array(12);
  /** ifindex → name of the links this socket has seen, for trace lines. */
  readonly names = new Map<number, string>();

  private constructor(readonly fd: number, readonly label: string) {
    this.addr[0] = AF_NETLINK;
  }

  /** A socket in the calling thread's namespace, or in `options.netns`. */
  static open(options: OpenOptions = {}): NetlinkSocket {
    const c = libcCalls();
    if (!options.netns) return new NetlinkSocket(NetlinkSocket.socket(), options.label ?? "");
    const target = openFd(options.netns);
    let home: number | undefined;
    try {
      home = openFd("/proc/thread-self/ns/net");
      enterNetnsFd(target, options.netns);
      let fd: number | undefined;
      let failure: unknown;
      try {
        fd = NetlinkSocket.socket();
      } catch (e) {
        failure = e;
      }
      // staying inside would make every later step of the caller act on the wrong side
      if (c.setns(home, CLONE_NEWNET) !== 0) {
        throw new SyscallError("setns", c.errno(), "back to the original network namespace");
      }
      if (fd === undefined) throw failure;
      return new NetlinkSocket(fd, options.label ?? options.netns.split("/").pop() ?? options.netns);
    } finally {
      closeFd(target);
      if (home !== undefined) closeFd(home);
    }
  }

  private static socket(): number {
    const c = libcCalls();
    const fd = c.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) throw new SyscallError("socket", c.errno(), "AF_NETLINK");
    return fd;
  }

  close(): void {
    libcCalls().close(this.fd);
  }

  private send(m: MessageBuilder): { seq: number; bytes: Uint8Array } {
    const seq = ++this.seq >>> 0;
    const bytes = m.finish(seq);
    const c = libcCalls();
    const n = c.sendto(this.fd, bytes, bytes.length, 0, this.addr, this.addr.length);
    if (n < 0) throw new SyscallError("sendto", c.errno());
    return { seq, bytes };
  }

  /** Reads messages for `seq` until `done` says so; returns them (errors thrown). */
  private receive(seq: number, request: () => string, done: (m: Message) => boolean): Message[] {
    const c = libcCalls();
    const out: Message[] = [];
    for (;;) {
      const n = c.recv(this.fd, this.buf, this.buf.length, 0);
      if (n < 0) {
        const errno = c.errno();
        if (errno === 4) continue; // EINTR
        throw new SyscallError("recv", errno);
      }
      // a copy: the messages outlive the next recv into the same buffer (a dump takes several)
      for (const m of splitMessages(this.buf.slice(0, n))) {
        if (m.seq !== seq) continue; // an answer to an earlier request we stopped waiting for
        if (m.type === NLMSG_ERROR) {
          const errno = -new DataView(m.body.buffer, m.body.byteOffset, 4).getInt32(0, true);
          if (errno !== 0) throw new NetlinkError(request(), errno);
          return out; // the ACK
        }
        if (m.type === NLMSG_DONE) return out;
        out.push(m);
        if (done(m)) return out;
      }
    }
  }

  private traced<T>(
    bytes: Uint8Array,
    run: () => T,
    answer: (v: T) => string,
  ): T {
    if (!tracing()) return run();
    const asked = (this.label ? `[netns ${this.label}] ` : "") + describeRequest(bytes, this.names);
    try {
      const v = run();
      traceLine(`${asked} → ${answer(v)}`);
      return v;
    } catch (e) {
      traceLine(`${asked} → ${e instanceof NetlinkError ? e.words : (e as Error).message}`);
      throw e;
    }
  }

  /** Sends a request that changes something (NLM_F_ACK) and waits for the kernel's ACK. */
  request(m: MessageBuilder): void {
    const { seq, bytes } = this.send(m);
    this.traced(bytes, () => {
      this.receive(seq, () => describeRequest(bytes, this.names), () => false);
    }, () => "ok");
  }

  /** Sends a request for one object (RTM_GETLINK by name) and returns the kernel's answer. */
  get(m: MessageBuilder, describe: (m: Message) => string): Message {
    const { seq, bytes } = this.send(m);
    return this.traced(
      bytes,
      () => this.receive(seq, () => describeRequest(bytes, this.names), () => true)[0],
      describe,
    );
  }

  /** Sends a dump request (NLM_F_DUMP) and returns every part up to NLMSG_DONE. */
  dump(m: MessageBuilder, what: string): Message[] {
    const { seq, bytes } = this.send(m);
    return this.traced(
      bytes,
      () => this.receive(seq, () => describeRequest(bytes, this.names), () => false),
      (all) => `${all.length} ${what}`,
    );
  }
}
