/**
 * rtnetlink from the process, over FFI (bun:ffi in the compiled plugins, Deno.dlopen under Deno): what
 * the reference plugins do with vishvananda/netlink, instead of an `ip` process per step.
 *
 * `Netlink` (from this module) opens a socket and speaks in the words of `ip`:
 *
 * ```ts
 * const host = Netlink.open();                                  // the calling thread's namespace
 * const ctr = Netlink.open({ netns: "/var/run/netns/cni-1234" }); // a socket opened inside the container's
 * const br = host.link.get("cni0");                              // undefined: no such device
 * ctr.addr.add({ index: 2, cidr: "10.250.1.2/24", broadcast: true });
 * ```
 *
 * Requests are the ones `ip` sends for the same command, byte for byte (tests/netlink/fixtures); a
 * refusal is a {@link NetlinkError} with errno and the words `ip` prints. CNILAB_NETLINK_TRACE=FILE (or
 * {@link onTrace}) records every request and answer, decoded, one line each. Labs keep iproute2: `ip` is
 * what a person types; this layer is for the plugins, where a process per step is the cost.
 * @module
 */
export { Netlink } from "./client.ts";
export {
  closeFd,
  enterNetnsFd,
  NetlinkError,
  NetlinkSocket,
  openFd,
  type OpenOptions,
  SyscallError,
} from "./socket.ts";
export { Errno, errnoName, strerror } from "../sys/errno.ts";
export type { LinkChange, LinkInfo, NewLink } from "./link.ts";
export type { AddressInfo, AddressSpec } from "./address.ts";
export type { RouteInfo, RouteSpec } from "./route.ts";
export { describeRequest, ipEquivalent, onTrace } from "./trace.ts";
export { parsePrefix } from "./_addr.ts";
