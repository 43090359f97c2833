/**
 * The runtime's container calls, shaped like CRI's: CreateContainer, StartContainer, StopContainer,
 * ExecSync and the container log. A container is a process joined to the sandbox holder's namespaces
 * (container.ts); its state lives in the sandbox's state file. runtime.ts re-exports these.
 * @module
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { Owner } from "../ownership/mod.ts";
import { type CommandResult, run } from "../shell/mod.ts";
import { randomHex } from "../util/mod.ts";
import {
  BASE_PATH,
  containerAlive,
  type ContainerProcess,
  joinArgv,
  startContainerProcess,
  stopContainerProcess,
} from "./container.ts";
import { SandboxError } from "./errors.ts";
import { holderAlive } from "./holder.ts";
import { type ContainerState, readState, type SandboxState, writeState } from "./state.ts";

/** What CreateContainer needs (CRI's ContainerConfig, after the image was resolved: see image.ts). */
export interface ContainerConfig {
  name: string;
  image: string;
  argv: string[];
  env?: Record<string, string>;
  workingDir?: string;
  ports?: { containerPort: number; protocol: string; name?: string }[];
  /** Files the image needs, written before the container is created. */
  files?: { path: string; content: string }[];
}

/** A sandbox state with its processes looked at: a container or holder that died is marked so. */
export function refresh(s: SandboxState): SandboxState {
  for (const c of s.containers) {
    if (c.phase === "running" && (!c.process || !containerAlive(c.process))) c.phase = "exited";
  }
  if (s.phase === "ready" && s.holder && !holderAlive(s.holder)) s.phase = "notready";
  return s;
}

/** CreateContainer: writes the files its image needs and records it as `created`. Returns the container ID. */
export function createContainer(sandboxId: string, config: ContainerConfig): string {
  const state = readState(sandboxId);
  if (state.containers.some((c) => c.name === config.name)) {
    throw new SandboxError(`pod ${state.name} already has a container ${config.name}`);
  }
  for (const f of config.files ?? []) {
    if (!f.path.startsWith(`${state.dir}/`)) {
      throw new SandboxError(`image file ${f.path} is outside ${state.dir}`);
    }
    mkdirSync(f.path.slice(0, f.path.lastIndexOf("/")), { recursive: true });
    writeFileSync(f.path, f.content);
  }
  const container: ContainerState = {
    id: randomHex(32),
    name: config.name,
    image: config.image,
    argv: config.argv,
    env: config.env ?? {},
    workingDir: config.workingDir,
    ports: config.ports ?? [],
    logPath: `${state.dir}/logs/${config.name}.log`,
    phase: "created",
    createdAt: new Date().toISOString(),
    restartCount: 0,
  };
  state.containers.push(container);
  writeState(state);
  return container.id;
}

function findContainer(state: SandboxState, ref: string | undefined): ContainerState {
  if (ref === undefined) {
    if (state.containers.length === 0) throw new SandboxError(`pod ${state.name} has no containers`);
    return state.containers[0];
  }
  const c = state.containers.find((c) =>
    c.name === ref || c.id === ref || (ref.length >= 4 && c.id.startsWith(ref))
  );
  if (!c) {
    throw new SandboxError(
      `pod ${state.name} has no container ${ref} (it has: ${state.containers.map((c) => c.name).join(", ")})`,
    );
  }
  return c;
}

/** StartContainer: starts (or restarts) a container in the holder's namespaces. */
export async function startContainer(sandboxId: string, containerRef: string): Promise<ContainerProcess> {
  const state = refresh(readState(sandboxId));
  const c = findContainer(state, containerRef);
  if (state.phase !== "ready" || !state.holder) {
    throw new SandboxError(
      `pod ${state.name} is not ready (its holder is not running): remove it and run it again`,
    );
  }
  if (c.phase === "running") throw new SandboxError(`container ${c.name} is already running`);
  const owner = await Owner.open(state.ownerId);
  const hostname = state.hostname;
  const proc = await startContainerProcess(owner, state.holder, {
    argv: c.argv,
    env: { HOSTNAME: hostname, ...c.env },
    workingDir: c.workingDir,
    logPath: c.logPath,
    sharePid: state.sharePid,
  });
  if (c.startedAt) c.restartCount++;
  c.process = proc;
  c.phase = "running";
  c.startedAt = new Date().toISOString();
  c.finishedAt = undefined;
  // re-read: another container may have been written meanwhile by this same process
  const fresh = readState(sandboxId);
  fresh.containers = fresh.containers.map((x) => (x.id === c.id ? c : x));
  writeState(fresh);
  return proc;
}

/** StopContainer: SIGTERM, then SIGKILL after `graceMs`; the pod keeps its namespaces and address. */
export async function stopContainer(sandboxId: string, containerRef: string, graceMs = 2000): Promise<void> {
  const state = readState(sandboxId);
  const c = findContainer(state, containerRef);
  if (c.process) await stopContainerProcess(c.process, graceMs);
  c.phase = "exited";
  c.finishedAt = new Date().toISOString();
  writeState(state);
}

/**
 * ExecSync: runs a command in a container's namespaces (net, IPC, UTS; PID and mount with a shared PID
 * namespace) with the container's environment, and returns what it printed.
 */
export async function execSync(
  sandboxId: string,
  containerRef: string | undefined,
  argv: string[],
  opts: { timeoutMs?: number } = {},
): Promise<CommandResult> {
  const state = refresh(readState(sandboxId));
  const c = findContainer(state, containerRef);
  if (c.phase !== "running" || !c.process) {
    throw new SandboxError(`container ${c.name} of pod ${state.name} is not running`);
  }
  const env = {
    PATH: BASE_PATH,
    HOSTNAME: state.hostname,
    ...c.env,
  };
  return await run(
    joinArgv(c.process.pid, { env, sharePid: state.sharePid, workingDir: c.workingDir }, argv),
    { check: false, timeoutMs: opts.timeoutMs },
  );
}

/** A container's log (stdout and stderr as written). */
export function containerLogs(sandboxId: string, containerRef: string | undefined): string {
  const state = readState(sandboxId);
  const c = findContainer(state, containerRef);
  try {
    return readFileSync(c.logPath, "utf8");
  } catch {
    return "";
  }
}
