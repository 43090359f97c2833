/**
 * Test scaffolding for the runtime tests: a temp world (CNI_PATH dir of recording-plugin shims, conf dir,
 * cache dir, lock dir, IPAM data dir) and real namespaces named `trt-<hex>`, all removed by `cleanup()`.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { link, netns } from "../../lib/iproute2/mod.ts";
import { randomHex } from "../../lib/util/mod.ts";

/** The repository root. */
export const ROOT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
/** The recording plugin's source. */
export const RECORD_TS = `${ROOT}/tests/fixtures/recording-plugin/record.ts`;
/** Debian's reference plugins. */
export const REFERENCE_BIN = "/usr/lib/cni";

/** Random hex, for names no other test on the machine uses. */
export function hex(bytes = 3): string {
  return randomHex(bytes);
}

/** One call the recording plugin saw. */
export interface Call {
  plugin: string;
  command: string;
  env: Record<string, string | undefined>;
  stdin: Record<string, unknown>;
  pid: number;
  startedAt: number;
  endedAt: number;
  outcome: string;
  result?: Record<string, unknown>;
}

/** A temp world for one test. */
export class World {
  readonly dir: string;
  readonly bin: string;
  readonly conf: string;
  readonly cache: string;
  readonly locks: string;
  readonly data: string;
  readonly log: string;
  private readonly namespaces: string[] = [];
  private readonly links: string[] = [];

  constructor() {
    this.dir = mkdtempSync("/tmp/trt-");
    this.bin = join(this.dir, "bin");
    this.conf = join(this.dir, "net.d");
    this.cache = join(this.dir, "cache");
    this.locks = join(this.dir, "locks");
    this.data = join(this.dir, "ipam");
    this.log = join(this.dir, "calls.jsonl");
    for (const d of [this.bin, this.conf]) mkdirSync(d, { recursive: true });
  }

  /** Installs a recording plugin named `type` in the world's CNI_PATH dir (a shell shim exec'ing bun). */
  plugin(type: string, opts: { versions?: string[] } = {}): string {
    const path = join(this.bin, type);
    const env = [`REC_LOG='${this.log}'`, `REC_NAME='${type}'`];
    if (opts.versions) env.push(`REC_VERSIONS='${opts.versions.join(",")}'`);
    writeFileSync(path, `#!/bin/sh\n${env.join(" ")} exec '${process.execPath}' '${RECORD_TS}'\n`);
    chmodSync(path, 0o755);
    return path;
  }

  /** Writes a config file into the conf dir; returns its path. */
  writeConf(name: string, content: unknown): string {
    const path = join(this.conf, name);
    writeFileSync(path, typeof content === "string" ? content : JSON.stringify(content, null, 2));
    return path;
  }

  /** Every call recorded so far, in order. */
  calls(): Call[] {
    if (!existsSync(this.log)) return [];
    return readFileSync(this.log, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as Call);
  }

  /** Forgets the calls recorded so far. */
  resetCalls(): void {
    rmSync(this.log, { force: true });
  }

  /** Creates a real namespace `trt-<hex>`; returns its name and path. */
  async netns(): Promise<{ name: string; path: string }> {
    const name = `trt-${hex(4)}`;
    this.namespaces.push(name);
    await netns.add(name);
    return { name, path: `/var/run/netns/${name}` };
  }

  /** A bridge name this world owns (removed at cleanup if a plugin created it). */
  bridgeName(): string {
    const name = `trt${hex(4)}`;
    this.links.push(name);
    return name;
  }

  /** Removes namespaces, bridges and the temp dir. */
  async cleanup(): Promise<void> {
    for (const name of this.namespaces) {
      if (await netns.exists(name)) await netns.del(name).catch(() => {});
    }
    for (const name of this.links) {
      if (await link.get(name)) await link.del(name).catch(() => {});
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Whether a process is still alive. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
