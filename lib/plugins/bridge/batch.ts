/**
 * `ip -json -batch -`: many iproute2 commands in ONE process (an `ip` spawn costs ~1.5 ms; ADD needs one
 * batch on the host and one in the container). Unlike `lib/iproute2`'s `batch()`, this keeps going when a
 * command fails only to the point of saying WHICH line failed and why, because the bridge reacts to
 * particular failures (a bridge created concurrently by another ADD, an ifname that already exists).
 *
 * The batch runs in the namespace of the calling thread (see netns.ts): no `-n`.
 * @module
 */
import { run } from "../../shell/mod.ts";

/** An `ip` command (argv without the leading `ip`). */
export type IpCommand = string[];

/** The outcome of a batch. */
export interface BatchOutcome {
  ok: boolean;
  /** Index (0-based) of the command that failed; undefined when all ran. */
  failedAt?: number;
  /** What `ip` said about the failure. */
  error: string;
  /** The JSON each reading command printed, in order (one array per `show` command). */
  outputs: unknown[][];
}

function quoteArg(arg: string): string {
  return /[\s"'\\]/.test(arg) ? `"${arg.replace(/(["\\])/g, "\\$1")}"` : arg;
}

/** Runs the commands in one `ip -json -batch -`; stops at the first failure and reports it. */
export async function ipBatch(commands: IpCommand[]): Promise<BatchOutcome> {
  if (commands.length === 0) return { ok: true, error: "", outputs: [] };
  const script = commands.map((c) => c.map(quoteArg).join(" ")).join("\n") + "\n";
  const r = await run(["ip", "-json", "-batch", "-"], { stdin: script, check: false });
  const outputs: unknown[][] = [];
  for (const line of r.stdout.split("\n")) {
    const text = line.trim();
    if (!text.startsWith("[")) continue;
    try {
      outputs.push(JSON.parse(text) as unknown[]);
    } catch {
      // not one of ours
    }
  }
  if (r.code === 0) return { ok: true, error: "", outputs };
  const m = r.stderr.match(/Command failed -:(\d+)/);
  const failedAt = m ? Number(m[1]) - 1 : undefined;
  const error = r.stderr.split("\n").filter((l) => l && !l.startsWith("Command failed")).join(" / ").trim();
  return { ok: false, failedAt, error: error || `ip exited ${r.code}`, outputs };
}

/** True when iproute2's message means "exists already" (EEXIST). */
export function isExists(error: string): boolean {
  return /File exists/i.test(error);
}

/** True when iproute2's message means the device is not there. */
export function isNoDevice(error: string): boolean {
  return /Cannot find device|does not exist|No such device/i.test(error);
}

/** The parts of `ip -json link show` the bridge reads. */
export interface LinkJson {
  ifname: string;
  ifindex: number;
  address?: string;
  mtu?: number;
  link_index?: number;
  flags?: string[];
  master?: string;
  linkinfo?: { info_kind?: string };
}

/** The parts of `ip -json addr show` the bridge reads. */
export interface AddrJson {
  ifname: string;
  addr_info?: { family: string; local: string; prefixlen: number; scope: string }[];
}
