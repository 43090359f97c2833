/**
 * `cnilab cni add|check|del|status|gc <network> <netns-path>`: cnitool, on cnilab's CNI runtime.
 *
 * Same inputs as cnitool (containernetworking/cni cnitool/): NETCONFPATH (default /etc/cni/net.d), CNI_PATH,
 * CNI_ARGS (`K=V;K2=V2`), CAP_ARGS (JSON object), CNI_IFNAME (default eth0); the network is looked up the
 * way libcni's LoadNetworkConf does; the container ID is `cnitool-` + the first 20 hex characters of
 * sha512(absolute netns path); ADD prints the result JSON on stdout.
 * @module
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";
import type { Attachment } from "../cni/types.ts";
import { parseCniArgPairs } from "../cni/args.ts";
import {
  CniConfig,
  CniRuntimeError,
  ConfigError,
  DEFAULT_CACHE_DIR,
  loadNetworkConf,
} from "../runtime/mod.ts";
import type { NetworkConfigList, RuntimeConf } from "../runtime/mod.ts";
import { type Command, Exit, UsageError } from "./command.ts";

const OPS = ["add", "check", "del", "status", "gc"] as const;
type Op = typeof OPS[number];

/** cnitool's container ID: `cnitool-` + hex of the first 10 bytes of sha512(netns path). */
export function cnitoolContainerId(netnsPath: string): string {
  return `cnitool-${createHash("sha512").update(netnsPath).digest("hex").slice(0, 20)}`;
}

/** cnitool's CNI_ARGS parser: `K=V` pairs separated by `;`, each with a non-empty key and value. */
export function parseCniArgs(text: string): [string, string][] {
  const bad = (pair: string) => new UsageError(`invalid CNI_ARGS pair ${JSON.stringify(pair)}`);
  return text.split(";").map((pair) => {
    let kv: [string, string] | undefined;
    try {
      kv = parseCniArgPairs(pair)[0];
    } catch {
      throw bad(pair);
    }
    if (!kv || kv[1] === "") throw bad(pair);
    return kv;
  });
}

function parseCapArgs(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`CAP_ARGS is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new UsageError("CAP_ARGS must be a JSON object, e.g. '{\"portMappings\":[...]}'");
  }
  return value as Record<string, unknown>;
}

function parseValid(specs: string[]): Attachment[] {
  return specs.map((s) => {
    const i = s.lastIndexOf(":");
    if (i <= 0 || i === s.length - 1) {
      throw new UsageError(`--valid wants CONTAINERID:IFNAME, not ${JSON.stringify(s)}`);
    }
    return { containerID: s.slice(0, i), ifname: s.slice(i + 1) };
  });
}

const USAGE = `usage: cnilab cni add|check|del|status|gc <network> <netns-path> [options]

cnitool on cnilab's CNI runtime (libcni semantics): runs the network
configuration list named <network> for the namespace at <netns-path>. ADD
prints the result JSON on stdout.

Environment (as cnitool):
  NETCONFPATH   config dir searched for <network> (default /etc/cni/net.d):
                *.conflist first, then *.conf/*.json, byte-wise order
  CNI_PATH      plugin dirs, ':'-separated (e.g. /usr/lib/cni)
  CNI_ARGS      extra args 'K=V;K2=V2', passed to every plugin
  CAP_ARGS      capability args as a JSON object (portMappings, bandwidth,
                ips, mac, ...), passed as runtimeConfig to the plugins that
                declare the capability
  CNI_IFNAME    interface name in the namespace (default eth0)

The container ID is 'cnitool-' + the first 20 hex chars of sha512(absolute
netns path), as cnitool's.

Options (cnilab's additions):
  -i, --ifname NAME     interface name (overrides CNI_IFNAME, like cnitool's)
  --cache-dir DIR       libcni cache dir; results in DIR/results
                        (default ${DEFAULT_CACHE_DIR})
  --timeout SECONDS     kill a plugin that runs longer (default 60)
  --valid CID:IFNAME    gc: an attachment still in use (repeatable); without
                        it, as cnitool, every cached attachment of <network>
                        is deleted

exit codes: 0 ok, 1 the operation failed (a plugin error, printed), 2 bad input
or environment.

Example:
  ip netns add demo
  NETCONFPATH=/etc/cni/net.d CNI_PATH=/usr/lib/cni cnilab cni add mynet /var/run/netns/demo
  NETCONFPATH=/etc/cni/net.d CNI_PATH=/usr/lib/cni cnilab cni del mynet /var/run/netns/demo`;

/** `cnilab cni` */
export const cni: Command = {
  name: "cni",
  summary: "cnitool-compatible add/check/del/status/gc of a network for a netns (libcni semantics)",
  usage: USAGE,
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        ifname: { type: "string", short: "i" },
        "cache-dir": { type: "string" },
        timeout: { type: "string" },
        valid: { type: "string", multiple: true },
      },
    });
    const [op, network, netnsArg] = positionals;
    if (!OPS.includes(op as Op) || !network || !netnsArg || positionals.length > 3) {
      throw new UsageError(
        `expected: add|check|del|status|gc <network> <netns-path> (see 'cnilab cni --help')`,
      );
    }
    const env = process.env;
    const confDir = env.NETCONFPATH || "/etc/cni/net.d";
    const binDirs = (env.CNI_PATH ?? "").split(":").filter(Boolean);
    const args = env.CNI_ARGS ? parseCniArgs(env.CNI_ARGS) : undefined;
    const capabilityArgs = env.CAP_ARGS ? parseCapArgs(env.CAP_ARGS) : undefined;
    const ifName = values.ifname || env.CNI_IFNAME || "eth0";
    const netns = resolve(netnsArg);
    const timeout = values.timeout === undefined ? undefined : Number(values.timeout);
    if (timeout !== undefined && !(timeout > 0)) throw new UsageError(`--timeout wants seconds > 0`);
    if ((op === "add" || op === "check") && !existsSync(netns)) {
      throw new UsageError(`netns ${netns} does not exist (create it first, e.g. ip netns add NAME)`);
    }
    let list: NetworkConfigList;
    try {
      list = loadNetworkConf(confDir, network);
    } catch (error) {
      if (error instanceof ConfigError || error instanceof Error) throw new UsageError(error.message);
      throw error;
    }
    const runtime = new CniConfig({
      binDirs,
      cacheDir: values["cache-dir"],
      timeoutMs: timeout === undefined ? undefined : timeout * 1000,
    });
    const rt: RuntimeConf = { containerId: cnitoolContainerId(netns), netns, ifName, args, capabilityArgs };
    try {
      switch (op as Op) {
        case "add": {
          const result = await runtime.addNetworkList(list, rt);
          process.stdout.write(JSON.stringify(result, null, 4) + "\n");
          break;
        }
        case "check":
          await runtime.checkNetworkList(list, rt);
          break;
        case "del":
          await runtime.delNetworkList(list, rt);
          break;
        case "status":
          await runtime.getStatusNetworkList(list);
          break;
        case "gc":
          await runtime.gcNetworkList(list, values.valid ? parseValid(values.valid) : undefined);
          break;
      }
    } catch (error) {
      if (error instanceof CniRuntimeError) {
        if (error.op === "validate") throw new UsageError(error.message);
        console.error(`cnilab cni ${op}: ${error.message}`);
        return Exit.CheckFailed;
      }
      throw error;
    }
    return Exit.Ok;
  },
};
