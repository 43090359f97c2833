/**
 * iproute2, typed: network namespaces, links, addresses and routes through `ip`, the one place in
 * cnilab that builds `ip` argv and knows `ip -json`'s shapes (./ip.ts; `ip route get` and the other
 * readers in ./read.ts). It knows nothing about CNI.
 *
 * @example
 * ```ts
 * import { addr, link, netns } from "./lib/iproute2/mod.ts";
 *
 * await netns.add("demo");
 * await link.up("lo", { netns: "demo" });
 * console.log(await addr.list({ netns: "demo", dev: "lo" })); // [{ cidr: "127.0.0.1/8", … }]
 * await netns.del("demo");
 * ```
 * @module
 */
export * from "./ip.ts";
export * from "./read.ts";
