/**
 * cnilab-host-local: IPAM from local range sets, a drop-in for the reference host-local.
 *
 * Reads top to bottom as the CNI operations: ADD reserves one address per range set (round-robin from the
 * last one handed out, skipping the gateway; a requested address when one was asked for), DEL releases the
 * attachment's addresses, CHECK finds them, STATUS says ready, GC releases what no valid attachment holds.
 * The store (./store.ts) shares the reference's on-disk format and lock, so both plugins can hand out
 * addresses from one dataDir at the same time.
 * @module
 */
import { CniError, ErrorCode } from "../../cni/errors.ts";
import { formatIp, type Ip, ipEquals, offset } from "../../cni/ip.ts";
import type { PluginContext } from "../../cni/skeleton.ts";
import type { Dns, Result, ResultIp } from "../../cni/types.ts";
import type { PluginDefinition } from "../plugin.ts";
import {
  type HostLocalConfig,
  parseHostLocalConfig,
  rangeContains,
  rangeFor,
  type RangeSet,
  rangeSetText,
} from "./config.ts";
import { Store } from "./store.ts";

// ---------------------------------------------------------------------------------------------------
// ADD

async function add(ctx: PluginContext): Promise<Result> {
  const conf = parseHostLocalConfig(ctx.config, ctx.args);
  const dns = conf.resolvConf ? parseResolvConf(conf.resolvConf) : {};
  const store = openStore(conf);
  try {
    const pending = [...conf.requested];
    const ips: ResultIp[] = [];
    for (const [index, set] of conf.ranges.entries()) {
      // a requested address belongs to the first range set that holds it
      const at = pending.findIndex((ip) => rangeFor(set, ip) !== undefined);
      const requested = at >= 0 ? pending.splice(at, 1)[0] : undefined;
      try {
        ips.push(allocate(store, set, index, ctx, requested));
      } catch (e) {
        releaseReserved(store, ips);
        const err = e instanceof CniError ? e : new CniError(ErrorCode.Internal, String(e));
        throw new CniError(err.code, `failed to allocate for range ${index}: ${err.message}`, err.details);
      }
    }
    if (pending.length > 0) {
      releaseReserved(store, ips);
      throw new CniError(
        ErrorCode.Internal,
        `failed to allocate all requested IPs: ${pending.map(formatIp).join(" ")}`,
        "a requested address must lie inside one of the range sets, one address per range set",
      );
    }
    const result: Result = { cniVersion: ctx.version, ips, dns };
    if (conf.routes.length > 0) result.routes = conf.routes;
    return await Promise.resolve(result);
  } finally {
    store.close();
  }
}

/**
 * Undoes a failed ADD: releases exactly the addresses this ADD reserved. (The reference releases everything
 * the container ID holds, which also drops an earlier valid reservation when a repeated ADD fails.)
 */
function releaseReserved(store: Store, ips: ResultIp[]): void {
  for (const ip of ips) store.releaseAddress(ip.address.slice(0, ip.address.indexOf("/")));
}

/** Reserves one address of range set `index` for the attachment: the requested one, or the next free one. */
function allocate(store: Store, set: RangeSet, index: number, ctx: PluginContext, requested?: Ip): ResultIp {
  for (const held of store.held(ctx.containerId, ctx.ifname)) {
    if (rangeFor(set, held.ip)) {
      throw new CniError(
        ErrorCode.Internal,
        `${formatIp(held.ip)} has been allocated to ${ctx.containerId}, duplicate allocation is not allowed`,
        "DEL the attachment before adding it again",
      );
    }
  }
  if (requested) {
    const range = rangeFor(set, requested)!;
    if (ipEquals(requested, range.gateway)) {
      throw new CniError(ErrorCode.Internal, `requested ip ${formatIp(requested)} is subnet's gateway`);
    }
    if (!store.reserve(requested, ctx.containerId, ctx.ifname, index)) {
      throw new CniError(
        ErrorCode.Internal,
        `requested IP address ${formatIp(requested)} is not available in range set ${rangeSetText(set)}`,
      );
    }
    return { address: `${formatIp(requested)}/${range.subnet.prefix}`, gateway: formatIp(range.gateway) };
  }
  for (const candidate of roundRobin(set, store.lastReserved(index))) {
    if (store.reserve(candidate.ip, ctx.containerId, ctx.ifname, index)) {
      const range = set[candidate.range];
      return {
        address: `${formatIp(candidate.ip)}/${range.subnet.prefix}`,
        gateway: formatIp(range.gateway),
      };
    }
  }
  throw new CniError(
    ErrorCode.Internal,
    `no IP addresses available in range set: ${rangeSetText(set)}`,
    "the range is exhausted: release attachments (DEL or GC) or use a larger range",
  );
}

/**
 * The addresses of a range set in the reference's order: from the last one handed out + 1 (or rangeStart of
 * the first range when none or unknown), wrapping from rangeEnd to the next range's rangeStart, each at
 * most once, the gateways left out.
 */
function* roundRobin(set: RangeSet, last: Ip | undefined): Generator<{ ip: Ip; range: number }> {
  let range = last ? set.findIndex((r) => rangeContains(r, last)) : -1;
  let cur: Ip;
  if (range < 0 || !last) {
    range = 0;
    cur = set[0].rangeStart;
  } else if (ipEquals(last, set[range].rangeEnd)) {
    range = (range + 1) % set.length;
    cur = set[range].rangeStart;
  } else {
    cur = offset(last, 1);
  }
  const first = cur;
  while (true) {
    if (!ipEquals(cur, set[range].gateway)) yield { ip: cur, range };
    if (ipEquals(cur, set[range].rangeEnd)) {
      range = (range + 1) % set.length;
      cur = set[range].rangeStart;
    } else {
      cur = offset(cur, 1);
    }
    if (ipEquals(cur, first)) return;
  }
}

/** node:fs, loaded when first needed. */
function nodeFs(): typeof import("node:fs") {
  const p = (globalThis as unknown as { process: { getBuiltinModule(id: string): unknown } }).process;
  return p.getBuiltinModule("node:fs") as typeof import("node:fs");
}

/** resolv.conf files are small; anything larger is not one (glibc reads a few KiB of it). */
export const RESOLV_CONF_MAX = 64 * 1024;

/**
 * Reads `ipam.resolvConf`: a regular file of at most {@link RESOLV_CONF_MAX} bytes, else code 7 (a device
 * such as /dev/zero, a FIFO or a directory would be read forever or block). Opened non-blocking, checked
 * with fstat on the opened file, read at most one byte past the limit.
 */
function readResolvConf(path: string): string {
  // node:fs only here (resolvConf configured): importing it costs every plugin call 1-5 ms (docs/netlink.md)
  const { closeSync, constants, fstatSync, openSync, readSync } = nodeFs();
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw new CniError(ErrorCode.IoFailure, `cannot read resolvConf ${path}: ${(e as Error).message}`);
  }
  try {
    if (!fstatSync(fd).isFile()) {
      throw new CniError(
        ErrorCode.InvalidNetworkConfig,
        `ipam.resolvConf ${JSON.stringify(path)} is not a regular file`,
        "point it at a resolv.conf-style file, e.g. /etc/resolv.conf",
      );
    }
    const buf = new Uint8Array(RESOLV_CONF_MAX + 1);
    let n = 0;
    while (n < buf.length) {
      const got = readSync(fd, buf, n, buf.length - n, null);
      if (got === 0) break;
      n += got;
    }
    if (n > RESOLV_CONF_MAX) {
      throw new CniError(
        ErrorCode.InvalidNetworkConfig,
        `ipam.resolvConf ${JSON.stringify(path)} is larger than ${RESOLV_CONF_MAX / 1024} KiB`,
        "a resolv.conf is a few lines: nameserver, domain, search, options",
      );
    }
    return new TextDecoder().decode(buf.subarray(0, n));
  } catch (e) {
    if (e instanceof CniError) throw e;
    throw new CniError(ErrorCode.IoFailure, `cannot read resolvConf ${path}: ${(e as Error).message}`);
  } finally {
    closeSync(fd);
  }
}

/** The reference's resolv.conf reading: nameserver, domain, search and options lines. */
function parseResolvConf(path: string): Dns {
  const text = readResolvConf(path);
  const dns: Dns = {};
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line[0] === "#" || line[0] === ";") continue;
    const fields = line.split(/\s+/);
    if (fields.length < 2) continue;
    if (fields[0] === "nameserver") (dns.nameservers ??= []).push(fields[1]);
    else if (fields[0] === "domain") dns.domain = fields[1];
    else if (fields[0] === "search") (dns.search ??= []).push(...fields.slice(1));
    else if (fields[0] === "options") (dns.options ??= []).push(...fields.slice(1));
  }
  return dns;
}

function openStore(conf: HostLocalConfig): Store {
  try {
    return Store.open(conf.dataDir, conf.name);
  } catch (e) {
    throw new CniError(
      ErrorCode.IoFailure,
      `cannot open the store in ${conf.dataDir}/${conf.name}: ${(e as Error).message}`,
    );
  }
}

// ---------------------------------------------------------------------------------------------------
// DEL

function del(ctx: PluginContext): void {
  const conf = parseHostLocalConfig(ctx.config, ctx.args);
  const store = openStore(conf);
  try {
    // an attachment that holds nothing (never added, or deleted before) is success
    store.release(ctx.containerId, ctx.ifname);
  } finally {
    store.close();
  }
}

// ---------------------------------------------------------------------------------------------------
// CHECK

function check(ctx: PluginContext): void {
  const conf = parseHostLocalConfig(ctx.config, ctx.args);
  const store = openStore(conf);
  try {
    if (store.held(ctx.containerId, ctx.ifname).length === 0) {
      throw new CniError(
        ErrorCode.Internal,
        `host-local: Failed to find address added by container ${ctx.containerId}`,
        `no reservation for ${ctx.containerId}/${ctx.ifname} in ${store.dir}`,
      );
    }
  } finally {
    store.close();
  }
}

// ---------------------------------------------------------------------------------------------------
// STATUS and GC (spec 1.1; the reference host-local 1.1.1 has neither)

function status(ctx: PluginContext): void {
  const conf = parseHostLocalConfig(ctx.config, ctx.args);
  try {
    Store.open(conf.dataDir, conf.name).close();
  } catch (e) {
    throw new CniError(
      ErrorCode.PluginNotAvailable,
      `host-local cannot use ${conf.dataDir}/${conf.name}: ${(e as Error).message}`,
    );
  }
}

function gc(ctx: PluginContext): void {
  const conf = parseHostLocalConfig(ctx.config, ctx.args);
  const store = openStore(conf);
  try {
    store.releaseAllBut(ctx.validAttachments);
  } finally {
    store.close();
  }
}

/** cnilab-host-local. */
export const plugin: PluginDefinition = {
  name: "cnilab-host-local",
  about: "cnilab host-local IPAM plugin (TypeScript, drop-in for the reference host-local)",
  cniArgs: ["IP"],
  add,
  del,
  check,
  status,
  gc,
};
