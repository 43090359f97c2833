/**
 * Sandbox state, persisted under /run/cnilab/sandboxes/<id>.json so that any other `cnilab` process can
 * list a pod, exec into it and remove it (there is no daemon: the file is the runtime's memory).
 * Written atomically (temp file + rename); read back through {@link readState}, once, with a clear error.
 * Changed only under the pod's lock ({@link withSandboxLock}), so two cnilab processes on one pod take turns.
 * @module
 */
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  writeFileSync,
} from "node:fs";
import process from "node:process";
import { STATE_DIR, withOwnerLock } from "../ownership/mod.ts";
import { LockedFileGone } from "../sys/filelock.ts";
import type { ContainerProcess } from "./container.ts";
import { SandboxError } from "./errors.ts";
import type { Holder } from "./holder.ts";
import type { PinnedNetns } from "./netns.ts";
import type { NetworkDescription, PodNetworkStatus } from "./network.ts";

/** Where sandbox state files live. */
export const SANDBOX_DIR = `${STATE_DIR}/sandboxes`;

/** CRI's sandbox states, plus the time before it is ready. */
export type SandboxPhase = "creating" | "ready" | "notready";

/** CRI's container states. */
export type ContainerPhase = "created" | "running" | "exited";

/** One measured step of a sandbox or container operation (the labs print these). */
export interface Timing {
  step: string;
  ms: number;
}

/** A container of a sandbox. */
export interface ContainerState {
  id: string;
  name: string;
  image: string;
  /** The process the image maps to (see image.ts). */
  argv: string[];
  env: Record<string, string>;
  workingDir?: string;
  ports: { containerPort: number; protocol: string; name?: string }[];
  logPath: string;
  phase: ContainerPhase;
  process?: ContainerProcess;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  /** How many times it was started after its first start. */
  restartCount: number;
}

/** Everything the runtime knows about a sandbox. */
export interface SandboxState {
  version: 1;
  /** 64 hex digits, like containerd's sandbox IDs; also the CNI container ID. */
  id: string;
  name: string;
  namespace: string;
  uid: string;
  hostname: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** The ownership journal that records every object of this sandbox. */
  ownerId: string;
  createdAt: string;
  phase: SandboxPhase;
  /** The sandbox's directory: pause symlink, logs, web roots. */
  dir: string;
  netns: PinnedNetns;
  sharePid: boolean;
  holder?: Holder;
  network: NetworkDescription;
  /** CNI_ARGS as sent (containerd's labels). */
  cniArgs: Record<string, string>;
  /** What CNI ADD returned, once it has. */
  status?: PodNetworkStatus;
  containers: ContainerState[];
  timings: Timing[];
}

/** The state file of a sandbox. */
export function statePath(id: string): string {
  return `${SANDBOX_DIR}/${id}.json`;
}

/** The name claim of a pod (`<namespace>_<name>.name`): created O_EXCL, so two runs cannot share a name. */
export function claimPath(namespace: string, name: string): string {
  return `${SANDBOX_DIR}/${namespace}_${name}.name`;
}

/** Creates the directory for state files (not recorded with an owner: sandboxes share it). */
export function ensureSandboxDir(): void {
  mkdirSync(SANDBOX_DIR, { recursive: true, mode: 0o700 });
}

/** Removes the shared directory once the last sandbox is gone. */
export function tidySandboxDir(): void {
  try {
    rmdirSync(SANDBOX_DIR);
  } catch {
    // other sandboxes still there
  }
}

/** Writes a sandbox's state atomically. */
export function writeState(state: SandboxState): void {
  ensureSandboxDir();
  const tmp = `${statePath(state.id)}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(state, null, 2) + "\n", { mode: 0o600 });
  renameSync(tmp, statePath(state.id));
}

function isState(v: unknown): v is SandboxState {
  if (typeof v !== "object" || v === null) return false;
  const s = v as Partial<SandboxState>;
  return s.version === 1 && typeof s.id === "string" && typeof s.name === "string" &&
    typeof s.netns?.path === "string" && Array.isArray(s.containers) && typeof s.ownerId === "string";
}

/** Reads a sandbox's state by ID, or throws a {@link SandboxError}. */
export function readState(id: string): SandboxState {
  const path = statePath(id);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new SandboxError(`no sandbox ${id} (no ${path})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new SandboxError(
      `sandbox state ${path} is not valid JSON (written by a killed run? \`cnilab clean\` removes it)`,
    );
  }
  if (!isState(parsed)) {
    throw new SandboxError(`sandbox state ${path} is not a cnilab sandbox state (version 1)`);
  }
  return parsed;
}

/** Every sandbox with a readable state file, oldest first. */
export function listStates(): SandboxState[] {
  if (!existsSync(SANDBOX_DIR)) return [];
  const out: SandboxState[] = [];
  for (const f of readdirSync(SANDBOX_DIR)) {
    if (!/^[0-9a-f]{64}\.json$/.test(f)) continue;
    try {
      out.push(readState(f.slice(0, -5)));
    } catch {
      // being written or removed right now
    }
  }
  return out.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

/**
 * Runs `fn` holding the lock of a sandbox — its owner's lock (lib/ownership `withOwnerLock`), which
 * `cnilab clean` takes too when it releases the owner — so `pod stop`, `pod rm` and `clean` on one pod,
 * from several processes at once, take turns. The state is read again under the lock: when the pod was
 * removed meanwhile, a {@link SandboxError} says so. Re-entrant (RemovePodSandbox stops the pod first).
 */
export async function withSandboxLock<T>(id: string, fn: () => Promise<T>): Promise<T> {
  const before = readState(id);
  const gone = () =>
    new SandboxError(`no pod ${before.namespace}/${before.name} any more: another cnilab process removed it`);
  try {
    return await withOwnerLock(before.ownerId, () => {
      if (!existsSync(statePath(id))) throw gone();
      return fn();
    });
  } catch (error) {
    if (error instanceof LockedFileGone) throw gone();
    throw error;
  }
}
