/**
 * The one way cnilab runs a command. Every command is recorded on the event stream (argv, stdin, exit code,
 * duration, output) so labs can show exactly what runs.
 *
 * Two backends behind one function:
 * - node:child_process (default): the CLI, labs, runtime and tests; works under Bun and Deno.
 * - `Bun.spawnSync`, selected by the CNI plugin executables with {@link useBunBackend}: a plugin is exec'd
 *   for every CNI operation and this keeps its start-up lean.
 *
 * Why not dax (the first choice): dax treats a command that exits without reading all of its stdin as a
 * broken pipe, kills it and reports exit 1 — seen here with the reference bridge answering VERSION (1 run in
 * 30) — and `ip -batch` stops reading at its first failing line, so its real error would be lost the same
 * way. Both are everyday cases for cnilab. A compiled plugin importing dax also started in ~49 ms vs ~7 ms.
 * @module
 */
import { process } from "../sys/process.ts";
import { emit, type Purpose } from "../events/mod.ts";

/** node:fs when first needed: a plugin executable imports this module, and node:fs costs it ms per call. */
const fs = () => process.getBuiltinModule("node:fs") as typeof import("node:fs");

/** Options for {@link run}. */
export interface RunOptions {
  /** Text written to the command's standard input (e.g. an `ip -batch -` script or a CNI config). */
  stdin?: string;
  /** Throw a {@link CommandError} on a non-zero exit (default true). */
  check?: boolean;
  /** Extra environment variables (merged over the current environment). */
  env?: Record<string, string>;
  /** Kill the command after this many milliseconds (exit code 124). */
  timeoutMs?: number;
  /** Why it runs (default "action"); see {@link Purpose}. */
  purpose?: Purpose;
}

/** What a finished command left behind. */
export interface CommandResult {
  argv: string[];
  code: number;
  stdout: string;
  stderr: string;
  durationMs: number;
}

/** A command exited non-zero; the message says what ran and what it said. */
export class CommandError extends Error {
  constructor(readonly result: CommandResult) {
    super(explain(result));
    this.name = "CommandError";
  }
}

/** Turns a failed command into one line a person can act on. */
export function explain(result: CommandResult): string {
  const cmd = result.argv.join(" ");
  if (result.code === 127) {
    return `command not found: ${result.argv[0]} (run \`cnilab doctor\` to see how to install it)`;
  }
  if (result.code === 124) return `timed out: ${cmd}`;
  const said = (result.stderr.trim() || result.stdout.trim()).split("\n").slice(-3).join(" / ");
  return `\`${cmd}\` exited ${result.code}${said ? `: ${said}` : ""}`;
}

type Backend = (argv: string[], options: RunOptions) => Promise<Omit<CommandResult, "argv" | "durationMs">>;

interface BunSpawnSync {
  spawnSync(
    argv: string[],
    options: { stdin?: Uint8Array; env?: Record<string, string | undefined>; timeout?: number },
  ): { exitCode: number | null; stdout: Uint8Array; stderr: Uint8Array; exitedDueToTimeout?: boolean };
}

const decoder = new TextDecoder();

/**
 * node:child_process, in Bun and in Deno. Each command gets its own process group, so a timeout kills the
 * command and everything it started (a plugin's delegate, say), not just the command itself. A command that
 * exits without reading all of its stdin is not an error: its own exit code is what counts.
 */
const childProcessBackend: Backend = async (argv, options) => {
  // imported here, not at the top: the plugin executables never use this backend and start faster without it
  const { spawn } = await import("node:child_process");
  return await new Promise((resolve) => {
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(argv[0], argv.slice(1), {
        stdio: [options.stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"],
        env: options.env ? { ...process.env, ...options.env } : process.env,
        detached: true,
      });
    } catch (error) {
      // Bun throws spawn failures here, Node and Deno emit them as "error" below
      resolve({ code: spawnFailureCode(error), stdout: "", stderr: String(error) });
      return;
    }
    const out: Uint8Array[] = [];
    const err: Uint8Array[] = [];
    child.stdout?.on("data", (d: Uint8Array) => out.push(d));
    child.stderr?.on("data", (d: Uint8Array) => err.push(d));
    if (options.stdin !== undefined && child.stdin) {
      child.stdin.on("error", () => {}); // EPIPE: the command did not read it all, and that is its business
      child.stdin.end(options.stdin);
    }
    let timedOut = false;
    const timer = options.timeoutMs
      ? setTimeout(() => {
        timedOut = true;
        try {
          process.kill(-(child.pid as number), "SIGKILL");
        } catch {
          // already gone
        }
      }, options.timeoutMs)
      : undefined;
    const text = (chunks: Uint8Array[]) => decoder.decode(concat(chunks));
    child.once("error", (error: Error) => {
      clearTimeout(timer);
      resolve({ code: spawnFailureCode(error), stdout: text(out), stderr: String(error) });
    });
    child.once("close", (code: number | null, signal: string | null) => {
      clearTimeout(timer);
      const status = timedOut ? 124 : code ?? 128 + (signal ? signalNumber(signal) : 0);
      resolve({ code: status, stdout: text(out), stderr: text(err) });
    });
  });
};

/** The shell's convention: 127 when the program does not exist, 126 when it cannot be executed. */
function spawnFailureCode(error: unknown): number {
  return (error as { code?: string }).code === "ENOENT" ? 127 : 126;
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  return all;
}

function signalNumber(signal: string): number {
  return ({
    SIGHUP: 1,
    SIGINT: 2,
    SIGQUIT: 3,
    SIGABRT: 6,
    SIGKILL: 9,
    SIGSEGV: 11,
    SIGPIPE: 13,
    SIGTERM: 15,
  } as Record<
    string,
    number
  >)[signal] ?? 0;
}

const bunBackend: Backend = (argv, options) => {
  const bun = (globalThis as unknown as { Bun: BunSpawnSync }).Bun;
  try {
    const r = bun.spawnSync(argv, {
      stdin: options.stdin === undefined ? undefined : new TextEncoder().encode(options.stdin),
      env: options.env ? { ...process.env, ...options.env } : undefined,
      timeout: options.timeoutMs,
    });
    const code = r.exitedDueToTimeout ? 124 : r.exitCode ?? 128;
    return Promise.resolve({ code, stdout: decoder.decode(r.stdout), stderr: decoder.decode(r.stderr) });
  } catch (error) {
    return Promise.resolve({ code: spawnFailureCode(error), stdout: "", stderr: String(error) });
  }
};

let backend: Backend = childProcessBackend;
let nextId = 1;

/** Makes {@link run} spawn through `Bun.spawnSync` (for the CNI plugin executables; see module docs). */
export function useBunBackend(): void {
  backend = bunBackend;
}

/** Runs a command (no shell involved: argv is passed as is) and records it on the event stream. */
export async function run(argv: string[], options: RunOptions = {}): Promise<CommandResult> {
  const id = nextId++;
  const purpose = options.purpose ?? "action";
  emit({ type: "command:start", id, argv, stdin: options.stdin, purpose });
  const started = performance.now();
  const out = await backend(argv, options);
  const result: CommandResult = { argv, ...out, durationMs: performance.now() - started };
  emit({
    type: "command:end",
    id,
    argv,
    stdin: options.stdin,
    purpose,
    ...out,
    durationMs: result.durationMs,
  });
  if (out.code !== 0 && options.check !== false) throw new CommandError(result);
  return result;
}

/** Looks up an executable on PATH (or returns undefined). */
export function which(name: string): string | undefined {
  const path = (process.env.PATH ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin").split(
    ":",
  );
  for (const dir of path) {
    try {
      const st = fs().statSync(`${dir}/${name}`);
      if (st.isFile() && (st.mode & 0o111) !== 0) return `${dir}/${name}`;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** Options for {@link spawnDetached}. */
export interface SpawnOptions {
  /** Extra environment variables (merged over the current environment). */
  env?: Record<string, string>;
  /** File that receives the process's stdout and stderr (appended); /dev/null when absent. */
  log?: string;
}

/**
 * Starts a long-lived process in its own session (it outlives cnilab, like a pause container outlives the
 * kubelet's call) and returns its PID. Recorded on the event stream like every command.
 */
export async function spawnDetached(argv: string[], options: SpawnOptions = {}): Promise<number> {
  const { spawn } = await import("node:child_process");
  const id = nextId++;
  emit({ type: "command:start", id, argv, purpose: "action" });
  const started = performance.now();
  const out = fs().openSync(options.log ?? "/dev/null", "a");
  try {
    const child = spawn(argv[0], argv.slice(1), {
      detached: true,
      stdio: ["ignore", out, out],
      env: { ...process.env, ...options.env },
    });
    return await new Promise((resolve, reject) => {
      child.once("error", (error) => {
        const result = {
          argv,
          code: 127,
          stdout: "",
          stderr: String(error),
          durationMs: performance.now() - started,
        };
        emit({ type: "command:end", id, purpose: "action", ...result });
        reject(new CommandError(result));
      });
      child.once("spawn", () => {
        child.unref();
        const pid = child.pid as number;
        emit({
          type: "command:end",
          id,
          argv,
          purpose: "action",
          code: 0,
          stdout: `started in the background as PID ${pid}`,
          stderr: "",
          durationMs: performance.now() - started,
        });
        resolve(pid);
      });
    });
  } finally {
    fs().closeSync(out);
  }
}
