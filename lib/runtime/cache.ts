/**
 * The result cache, in libcni's `cniCacheV1` format: one file per attachment,
 * `<cacheDir>/results/<network>-<containerID>-<ifname>`, mode 0600, written only after a whole ADD chain
 * succeeded, read by CHECK and DEL (as `prevResult`) and by GC (to find stale attachments), removed by a
 * successful DEL. cnilab writes it atomically (a temp file in the same dir, then rename), so a reader
 * never sees half a record.
 * @module
 */
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import type { Result } from "../cni/mod.ts";
import type { CachedAttachment, CniCacheV1, NetworkConfigList, RuntimeConf } from "./types.ts";
import { randomHex } from "../util/mod.ts";

/** The kind tag of libcni's cache records. */
export const CNI_CACHE_V1 = "cniCacheV1";

/** `<cacheDir>/results/<network>-<containerID>-<ifname>`; throws when a part is missing (as libcni does). */
export function cacheFilePath(
  cacheDir: string,
  network: string,
  rt: Pick<RuntimeConf, "containerId" | "ifName">,
) {
  if (!network || !rt.containerId || !rt.ifName) {
    throw new Error(
      `cache file path requires network name (${JSON.stringify(network)}), container ID ` +
        `(${JSON.stringify(rt.containerId)}), and interface name (${JSON.stringify(rt.ifName)})`,
    );
  }
  return join(cacheDir, "results", `${network}-${rt.containerId}-${rt.ifName}`);
}

/** Go's encoding/json writes map keys sorted; libcni's `result` and `capabilityArgs` are maps. */
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value !== "object" || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) out[key] = sortKeys((value as Record<string, unknown>)[key]);
  return out;
}

/**
 * The record libcni writes, fields in libcni's struct order, the map-valued `capabilityArgs` and `result`
 * with sorted keys (as Go marshals maps), empty optional fields omitted (Go's omitempty).
 */
export function cacheRecord(list: NetworkConfigList, rt: RuntimeConf, result: Result): CniCacheV1 {
  const record: CniCacheV1 = {
    kind: CNI_CACHE_V1,
    containerId: rt.containerId,
    config: Buffer.from(list.bytes, "utf8").toString("base64"),
    ifName: rt.ifName,
    networkName: list.name,
  };
  if (rt.netns) record.netns = rt.netns;
  if (rt.args && rt.args.length > 0) record.cniArgs = rt.args;
  if (rt.capabilityArgs && Object.keys(rt.capabilityArgs).length > 0) {
    record.capabilityArgs = sortKeys(rt.capabilityArgs) as Record<string, unknown>;
  }
  record.result = sortKeys(result) as Result;
  return record;
}

/** Writes the record atomically with mode 0600 (dir 0700); returns the file. */
export function writeCache(
  cacheDir: string,
  list: NetworkConfigList,
  rt: RuntimeConf,
  result: Result,
): string {
  const file = cacheFilePath(cacheDir, list.name, rt);
  const dir = join(cacheDir, "results");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `.tmp-${randomHex(6)}`);
  const fd = openSync(tmp, "wx", 0o600);
  try {
    writeSync(fd, JSON.stringify(cacheRecord(list, rt, result)));
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw error;
  }
  closeSync(fd);
  try {
    renameSync(tmp, file);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
  return file;
}

/**
 * Reads an attachment's record. `undefined` when there is none; throws when the file exists but is not a
 * `cniCacheV1` record (the caller decides: DEL removes it and goes on, CHECK fails).
 */
export function readCache(
  cacheDir: string,
  network: string,
  rt: Pick<RuntimeConf, "containerId" | "ifName">,
): CniCacheV1 | undefined {
  const file = cacheFilePath(cacheDir, network, rt);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
  let record: CniCacheV1;
  try {
    record = JSON.parse(text) as CniCacheV1;
  } catch (error) {
    throw new Error(`failed to unmarshal cached network "${network}" config: ${(error as Error).message}`);
  }
  if (record?.kind !== CNI_CACHE_V1) {
    throw new Error(`read cached network "${network}" config has wrong kind: ${String(record?.kind)}`);
  }
  return record;
}

/** Removes an attachment's record (absent is fine). */
export function deleteCache(
  cacheDir: string,
  network: string,
  rt: Pick<RuntimeConf, "containerId" | "ifName">,
) {
  rmSync(cacheFilePath(cacheDir, network, rt), { force: true });
}

/**
 * Every cached attachment (libcni's `GetCachedAttachments`), optionally only one container's; files that
 * are not valid `cniCacheV1` records are ignored. Sorted by file name.
 */
export function listCachedAttachments(cacheDir: string, containerId?: string): CachedAttachment[] {
  const dir = join(cacheDir, "results");
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return [];
  }
  const out: CachedAttachment[] = [];
  for (const name of names) {
    if (name.startsWith(".tmp-")) continue;
    if (containerId) {
      const pos = name.indexOf(`-${containerId}-`);
      if (pos <= 0 || pos + containerId.length + 2 >= name.length) continue;
    }
    let record: CniCacheV1;
    try {
      record = JSON.parse(readFileSync(join(dir, name), "utf8")) as CniCacheV1;
    } catch {
      continue;
    }
    if (record?.kind !== CNI_CACHE_V1 || !record.ifName || !record.networkName) continue;
    if (containerId && record.containerId !== containerId) continue;
    out.push({
      containerId: record.containerId,
      network: record.networkName,
      ifName: record.ifName,
      config: Buffer.from(record.config ?? "", "base64").toString("utf8"),
      netns: record.netns,
      cniArgs: record.cniArgs,
      capabilityArgs: record.capabilityArgs,
      result: record.result,
      file: join(dir, name),
    });
  }
  return out;
}
