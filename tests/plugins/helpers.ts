/**
 * Helpers for the plugin conformance tests: build cnilab's plugins when needed, run a plugin binary the way
 * a runtime does (env + stdin → exit code + JSON), make and destroy test namespaces, compare results
 * ignoring what is generated (MACs, host veth names), and read a host-local data directory.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { buildPlugins } from "../../scripts/build-plugins.ts";
import { netns as ipNetns } from "../../lib/iproute2/mod.ts";
import { randomHex } from "../../lib/util/mod.ts";

/** The repository root. */
export const ROOT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
/** Where `npm run build` puts cnilab's plugins. */
export const CNILAB_BIN = `${ROOT}/dist/cni`;
/** Debian's containernetworking-plugins. */
export const REF_BIN = "/usr/lib/cni";
/** Spec versions both cnilab and the reference plugins (1.1.1) speak. */
export const COMMON_VERSIONS = ["0.3.0", "0.3.1", "0.4.0", "1.0.0"] as const;
/** Every version cnilab speaks. */
export const CNILAB_VERSIONS = [...COMMON_VERSIONS, "1.1.0"] as const;

/** Random hex, for names that cannot collide with other tests on the machine. */
export function hex(bytes = 3): string {
  return randomHex(bytes);
}

function newestSource(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (e.name.endsWith(".ts")) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/** Builds dist/cni when it is missing or older than any source under lib/ (call in beforeAll). */
export async function ensurePlugins(): Promise<void> {
  const binary = `${CNILAB_BIN}/cnilab-plugin`;
  const names = ["cnilab-bridge", "cnilab-host-local", "cnilab-loopback"];
  const built = existsSync(binary) && names.every((n) => existsSync(`${CNILAB_BIN}/${n}`))
    ? statSync(binary).mtimeMs
    : 0;
  if (built > newestSource(`${ROOT}/lib`)) return;
  await buildPlugins(CNILAB_BIN);
}

/** One plugin invocation, as a runtime makes it. */
export interface Invocation {
  command: "ADD" | "DEL" | "CHECK" | "GC" | "STATUS" | "VERSION";
  containerId?: string;
  netns?: string;
  ifname?: string;
  args?: string;
  /** CNI_PATH (default: cnilab's dist/cni then /usr/lib/cni). */
  path?: string;
  /** The config: an object is sent as JSON, a string as is (for malformed input). */
  config: unknown;
  /** Extra or overriding environment (a variable set to undefined is removed). */
  env?: Record<string, string | undefined>;
}

/** What a plugin did: its exit code, its stdout parsed as JSON (when it is JSON), its raw output. */
export interface PluginRun {
  code: number;
  json: Record<string, unknown> | undefined;
  stdout: string;
  stderr: string;
}

/** Runs plugin executable `exe` (a path) with the CNI environment and config on stdin. */
export async function runPlugin(exe: string, inv: Invocation): Promise<PluginRun> {
  const env: Record<string, string | undefined> = {
    PATH: process.env.PATH,
    CNI_COMMAND: inv.command,
    CNI_CONTAINERID: inv.containerId,
    CNI_NETNS: inv.netns,
    CNI_IFNAME: inv.ifname,
    CNI_ARGS: inv.args,
    CNI_PATH: inv.path ?? `${CNILAB_BIN}:${REF_BIN}`,
    ...inv.env,
  };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  const stdin = typeof inv.config === "string" ? inv.config : JSON.stringify(inv.config);
  const proc = Bun.spawn([exe], {
    env: env as Record<string, string>,
    stdin: new TextEncoder().encode(stdin),
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
  ]);
  const code = await proc.exited;
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(stdout);
  } catch {
    json = undefined;
  }
  return { code, json, stdout, stderr };
}

/** cnilab's plugin `name` (`host-local` → dist/cni/cnilab-host-local). */
export function cnilab(name: string): string {
  return `${CNILAB_BIN}/cnilab-${name}`;
}

/** The reference plugin `name` (/usr/lib/cni/host-local). */
export function reference(name: string): string {
  return `${REF_BIN}/${name}`;
}

/** A test network namespace (named, under /var/run/netns). */
export interface TestNetns {
  name: string;
  /** What a runtime passes as CNI_NETNS. */
  path: string;
  destroy(): Promise<void>;
}

/** Creates a fresh named namespace `<prefix>-<hex>` (e.g. prefix `tplg`); destroy it in finally/afterEach. */
export async function makeNetns(prefix: string): Promise<TestNetns> {
  const name = `${prefix}-${hex(4)}`;
  await ipNetns.add(name);
  return {
    name,
    path: `/var/run/netns/${name}`,
    async destroy() {
      if (existsSync(`/var/run/netns/${name}`)) await ipNetns.del(name);
    },
  };
}

/** A temporary directory under /tmp (for dataDirs); remove it with {@link removeDir}. */
export function tempDir(prefix = "tplg"): string {
  return mkdtempSync(`/tmp/${prefix}-`);
}

/** Removes a directory tree made by a test. */
export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * A result with what is generated per run replaced: MAC addresses → "<mac>", host-side veth names
 * (`veth` + hex) → "<veth>". Key order is irrelevant (compare with toEqual).
 */
export function normalizeResult(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalizeResult);
  if (typeof value !== "object" || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === "mac" && typeof v === "string" && v !== "00:00:00:00:00:00") out[k] = "<mac>";
    else if (k === "name" && typeof v === "string" && /^veth[0-9a-f]{8}$/.test(v)) out[k] = "<veth>";
    else out[k] = normalizeResult(v);
  }
  return out;
}

/** One file of a host-local data directory: name → content (and mode). */
export interface DataDirEntry {
  content: string;
  mode: number;
}

/** The files of `<dataDir>/<network>` (empty when the directory does not exist). */
export function dataDirState(dataDir: string, network: string): Record<string, DataDirEntry> {
  const dir = `${dataDir}/${network}`;
  const out: Record<string, DataDirEntry> = {};
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir).sort()) {
    out[name] = {
      content: readFileSync(`${dir}/${name}`, "utf8"),
      mode: statSync(`${dir}/${name}`).mode & 0o777,
    };
  }
  return out;
}

/** The reservation files of a data directory (everything but `lock` and `last_reserved_ip.*`). */
export function reservations(dataDir: string, network: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, e] of Object.entries(dataDirState(dataDir, network))) {
    if (name !== "lock" && !name.startsWith("last_reserved_ip.")) out[name] = e.content;
  }
  return out;
}
