/**
 * The pod sandbox runtime, shaped like CRI's RuntimeService (what the kubelet calls on containerd):
 * RunPodSandbox, StopPodSandbox, RemovePodSandbox, PodSandboxStatus, ListPodSandbox, CreateContainer,
 * StartContainer, StopContainer, ExecSync — in process, no daemon: the state file is the memory. The
 * container calls are in runtime-containers.ts (re-exported here).
 *
 * RunPodSandbox, step by step, in containerd's order (each step's duration is kept in the state's `timings`):
 * 1. `netns`   — pin a new network namespace at /var/run/netns/cni-<uuid> (netns.ts)
 * 2. `cni-add` — CNI ADD of loopback and the configured networks with containerd's CNI_ARGS (network.ts)
 * 3. `holder`  — start the pause holder inside that namespace, with new IPC and UTS namespaces (holder.ts)
 *
 * containerd 1.6 `RunPodSandbox` (pkg/cri/server/sandbox_run.go) does the same: `netns.NewNetNS`, then
 * `setupPodNetwork` (CNI ADD), and only then `container.NewTask` + `task.Start` for pause; containerd 2.x
 * (internal/cri/server/sandbox_run.go) pins and runs `setupPodNetwork` before `sandboxService.CreateSandbox`
 * / `StartSandbox` (the pause container, internal/cri/server/podsandbox). The pinned namespace is what
 * makes that order possible: it exists before any process is in it.
 *
 * StopPodSandbox follows containerd's `stopPodSandbox` (sandbox_stop.go): stop the containers and pause,
 * CNI DEL with the namespace path (libcni hands the plugins the cached ADD result), then remove the
 * pinned namespace. RemovePodSandbox (sandbox_remove.go) first "forcibly stops" the sandbox again — a second
 * DEL, now with CNI_NETNS="" because the namespace is closed, and no prevResult because the first DEL
 * removed libcni's cache entry — then removes the sandbox's state.
 *
 * Every object is recorded with the pod's {@link Owner} before it is created, so a `kill -9` at any point
 * leaves a journal that `cnilab clean` replays; and a failure in any step undoes the earlier ones.
 * @module
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { describe, Owner, setSysctl } from "../ownership/mod.ts";
import { stopContainerProcess } from "./container.ts";
import { SandboxError } from "./errors.ts";
import { type Holder, startHolder, stopHolder } from "./holder.ts";
import { isMountPoint, pinNewNetns, unpinNetns } from "./netns.ts";
import {
  CniPodNetwork,
  defaultBinDirs,
  defaultConflist,
  defaultNetworkTidyScript,
  defaultPluginSet,
  type NetworkDescription,
  networkFromDescription,
  type NetworkSetup,
  type PluginSet,
  type PodNetworkRequest,
} from "./network.ts";
import {
  claimPath,
  ensureSandboxDir,
  listStates,
  readState,
  SANDBOX_DIR,
  type SandboxState,
  statePath,
  tidySandboxDir,
  type Timing,
  withSandboxLock,
  writeState,
} from "./state.ts";
import { randomHex } from "../util/mod.ts";
import { DEFAULT_CACHE_DIR } from "../runtime/mod.ts";
import { refresh } from "./runtime-containers.ts";
export {
  type ContainerConfig,
  containerLogs,
  createContainer,
  execSync,
  startContainer,
  stopContainer,
} from "./runtime-containers.ts";

/** What RunPodSandbox needs (CRI's PodSandboxConfig, reduced to what cnilab honours). */
export interface SandboxConfig {
  name: string;
  namespace?: string;
  uid?: string;
  hostname?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** A PID namespace for the pod (Kubernetes `shareProcessNamespace`). */
  sharePid?: boolean;
  /** Ports with a hostPort, passed as the `portMappings` capability (as containerd does). */
  portMappings?: { hostPort: number; containerPort: number; protocol: string }[];
  /** The kubelet's DNS config (CRI `DNSConfig`): the pod's resolv.conf is written from it (see {@link resolvConf}). */
  dnsConfig?: DnsConfig;
}

/** CRI's `DNSConfig`: what the kubelet computes from the Pod's dnsPolicy and the cluster DNS. */
export interface DnsConfig {
  servers: string[];
  searches?: string[];
  options?: string[];
}

/**
 * The pod's resolv.conf, in containerd's format (`parseDNSOptions`, pkg/cri/server/sandbox_run_linux.go):
 * `search`, then one `nameserver` line per server, then `options`. containerd's `setupSandboxFiles` writes it
 * from the kubelet's DNSConfig; the CNI result's `dns` is not read for it.
 */
export function resolvConf(dns: DnsConfig): string {
  let out = "";
  if (dns.searches?.length) out += `search ${dns.searches.join(" ")}\n`;
  if (dns.servers.length) out += `nameserver ${dns.servers.join("\nnameserver ")}\n`;
  if (dns.options?.length) out += `options ${dns.options.join(" ")}\n`;
  return out;
}

/** iproute2's per-namespace /etc: shared by every pod (see Owner.mkdir). */
const NETNS_ETC = "/etc/netns";

/** Where `ip netns exec <name>` finds a namespace's resolv.conf (it bind-mounts it over /etc/resolv.conf). */
export function netnsEtcDir(netnsName: string): string {
  return `${NETNS_ETC}/${netnsName}`;
}

/** Which CNI configuration a sandbox uses. */
export interface NetworkChoice {
  /** A conf dir (containerd's `conf_dir`); absent = cnilab's default conflist (bridge cnilab0). */
  confDir?: string;
  /** Plugin dirs (containerd's `bin_dir`); default: dist/cni when built, then /usr/lib/cni. */
  binDirs?: string[];
  /** containerd's `max_conf_num` (default 1). */
  maxConfNum?: number;
  /** libcni's cache dir (default /var/lib/cni). */
  cacheDir?: string;
  /** With the default conflist: cnilab's plugins or the reference ones (default: cnilab's when built). */
  plugins?: PluginSet;
  /** A ready-made network layer instead (tests). */
  setup?: NetworkSetup;
}

function newUid(): string {
  const h = randomHex(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

async function timed<T>(timings: Timing[], step: string, fn: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await fn();
  } finally {
    timings.push({ step, ms: performance.now() - started });
  }
}

/** containerd's CNI_ARGS for a sandbox (its `toCNILabels`), in containerd's order. */
export function cniArgsFor(
  s: { id: string; name: string; namespace: string; uid: string },
): Record<string, string> {
  return {
    IgnoreUnknown: "1",
    K8S_POD_NAMESPACE: s.namespace,
    K8S_POD_NAME: s.name,
    K8S_POD_INFRA_CONTAINER_ID: s.id,
    K8S_POD_UID: s.uid,
  };
}

/**
 * The network request of a stored sandbox. Like containerd's stopPodSandbox, the netns path is "" once the
 * namespace is closed ("Use empty netns path if netns is not available", per the CNI spec).
 */
function networkRequest(s: SandboxState): PodNetworkRequest {
  const open = s.netns.path !== "" && isMountPoint(s.netns.path);
  return {
    id: s.id,
    netnsPath: open ? s.netns.path : "",
    args: s.cniArgs,
    capabilityArgs: capabilityArgs(s),
  };
}

function capabilityArgs(
  s: { annotations: Record<string, string> },
  ports: SandboxConfig["portMappings"] = [],
  dns?: DnsConfig,
) {
  const caps: Record<string, unknown> = { "io.kubernetes.cri.pod-annotations": s.annotations };
  if (ports.length) caps.portMappings = ports;
  // containerd's cniNamespaceOpts: WithCapabilityDNS(toCNIDNS(config.GetDnsConfig())); go-cni's DNS struct
  // (types.go) has no JSON tags, so the keys go out as Servers/Searches/Options
  if (dns) caps.dns = { Servers: dns.servers, Searches: dns.searches ?? [], Options: dns.options ?? [] };
  return caps;
}

/** The CRI runtime's conditions (CRI `Status`), as containerd's pkg/cri/server/status.go reports them. */
export interface RuntimeCondition {
  type: "RuntimeReady" | "NetworkReady";
  status: boolean;
  reason?: string;
  message?: string;
}

/**
 * CRI `Status` for a network choice: RuntimeReady, and NetworkReady from go-cni's `Status()` on the conf dir
 * as containerd loads it. Not ready: reason `NetworkPluginNotReady`, message
 * `Network plugin returns error: cni plugin not initialized` (containerd's words); `loadError` says why.
 */
export async function runtimeStatus(
  choice: NetworkChoice = {},
): Promise<{ conditions: RuntimeCondition[]; loadError?: string }> {
  const network: RuntimeCondition = { type: "NetworkReady", status: true };
  let loadError: string | undefined;
  if (!choice.setup && choice.confDir) {
    const cni = await new CniPodNetwork(describeChoice(choice, "")).networksForCri();
    loadError = cni.loadError?.message;
    try {
      await cni.status();
    } catch (error) {
      network.status = false;
      network.reason = "NetworkPluginNotReady";
      network.message = `Network plugin returns error: ${(error as Error).message}`;
    }
  }
  return { conditions: [{ type: "RuntimeReady", status: true }, network], loadError };
}

/** Finds a sandbox by full ID, unique ID prefix, or `name` / `namespace/name`. */
export function findSandbox(ref: string): SandboxState {
  const all = listStates();
  const [ns, name] = ref.includes("/") ? ref.split("/", 2) : [undefined, ref];
  const byName = all.filter((s) => s.name === name && (ns === undefined || s.namespace === ns));
  if (byName.length === 1) return byName[0];
  if (byName.length > 1) {
    throw new SandboxError(`${ref} names pods in several namespaces; use namespace/name`);
  }
  const byId = all.filter((s) => s.id.startsWith(ref));
  if (byId.length === 1 && ref.length >= 4) return byId[0];
  throw new SandboxError(`no pod ${ref} (see \`cnilab pod ls\`)`);
}

/** Every sandbox, with container phases refreshed from the processes. */
export function listPodSandbox(): SandboxState[] {
  return listStates().map(refresh);
}

/** A sandbox's current status (CRI PodSandboxStatus): the stored state with liveness read back. */
export function podSandboxStatus(id: string): SandboxState {
  return refresh(readState(id));
}

function describeChoice(choice: NetworkChoice, dir: string): NetworkDescription {
  if (choice.setup) return choice.setup.description;
  const defaultConf = choice.confDir === undefined;
  return {
    kind: "cni",
    confDir: choice.confDir ?? `${dir}/net.d`,
    binDirs: choice.binDirs?.length ? choice.binDirs : defaultBinDirs(),
    maxConfNum: choice.maxConfNum ?? 1,
    // cnilab's own network keeps its result cache with the pod, so removing the pod leaves nothing behind
    cacheDir: choice.cacheDir ?? (defaultConf ? `${dir}/cni-cache` : undefined),
    lockDir: `${dir}/cni-locks`,
    defaultConf,
    plugins: defaultConf ? choice.plugins ?? defaultPluginSet() : undefined,
  };
}

/**
 * RunPodSandbox: pinned netns, pause holder, CNI ADD; returns the ready sandbox. Refuses a name that is
 * taken. On failure everything made so far is removed before the error is rethrown.
 */
export async function runPodSandbox(
  config: SandboxConfig,
  choice: NetworkChoice = {},
): Promise<SandboxState> {
  const namespace = config.namespace ?? "default";
  ensureSandboxDir();
  const claim = claimPath(namespace, config.name);
  if (existsSync(claim)) {
    throw new SandboxError(`pod ${namespace}/${config.name} already exists (cnilab pod rm ${config.name})`);
  }
  if (choice.confDir && !existsSync(choice.confDir)) {
    throw new SandboxError(`CNI conf dir ${choice.confDir} does not exist`);
  }
  if (choice.confDir && !choice.setup) {
    // Load the conf dir as containerd holds it. A node whose config did not load has only cni-loopback and
    // go-cni's Setup refuses with "cni plugin not initialized"; containerd gets there after pinning the
    // netns (and then removes it again), cnilab refuses before anything is created.
    const cni = await new CniPodNetwork(describeChoice(choice, "")).networksForCri();
    try {
      await cni.status();
    } catch (error) {
      const why = cni.loadError ? ` (${cni.loadError.message})` : "";
      throw new SandboxError(
        `failed to setup network for sandbox ${namespace}/${config.name}: ${(error as Error).message}${why}`,
      );
    }
  }
  const owner = await Owner.begin("pod", `${namespace}/${config.name}`);
  const id = randomHex(32);
  const dir = `${SANDBOX_DIR}/${id}`;
  const timings: Timing[] = [];
  const state: SandboxState = {
    version: 1,
    id,
    name: config.name,
    namespace,
    uid: config.uid ?? newUid(),
    hostname: config.hostname ?? config.name.split(".")[0],
    labels: config.labels ?? {},
    annotations: config.annotations ?? {},
    ownerId: owner.id,
    createdAt: new Date().toISOString(),
    phase: "creating",
    dir,
    netns: { name: "", path: "" },
    sharePid: config.sharePid ?? false,
    network: describeChoice(choice, dir),
    cniArgs: {},
    containers: [],
    timings,
  };
  state.cniArgs = cniArgsFor(state);
  const network = choice.setup ?? networkFromDescription(state.network);
  const started = performance.now();
  try {
    // replayed last on release: removes the shared leftovers (default bridge, IPAM dir, state dir) once unused,
    // and a state file's temporary twin when a kill -9 fell between its write and its rename
    await owner.record({
      kind: "undo",
      what: "tidy cnilab's shared pod state",
      argv: [
        "sh",
        "-c",
        `${state.network.defaultConf ? defaultNetworkTidyScript() + "\n" : ""}rm -f ${
          statePath(id)
        }.tmp-*; rmdir ${SANDBOX_DIR} 2>/dev/null; exit 0`,
      ],
    });
    await owner.record({ kind: "path", path: claim });
    try {
      writeFileSync(claim, id, { flag: "wx", mode: 0o600 });
    } catch {
      await owner.forget({ kind: "path", path: claim });
      throw new SandboxError(`pod ${namespace}/${config.name} already exists (cnilab pod rm ${config.name})`);
    }
    await owner.record({ kind: "path", path: dir, tree: true });
    mkdirSync(`${dir}/logs`, { recursive: true, mode: 0o755 });
    await owner.record({ kind: "path", path: statePath(id) });
    writeState(state);

    state.netns = await timed(timings, "netns", () => pinNewNetns(owner));
    writeState(state);

    if (config.dnsConfig) {
      // containerd's setupSandboxFiles: the pod's resolv.conf from the kubelet's DNSConfig, in the sandbox's
      // dir; cnilab also puts it where `ip netns exec` shows it as /etc/resolv.conf
      const text = resolvConf(config.dnsConfig);
      writeFileSync(`${dir}/resolv.conf`, text, { mode: 0o644 });
      const etc = netnsEtcDir(state.netns.name);
      await owner.mkdir(NETNS_ETC);
      await owner.record({ kind: "path", path: etc, tree: true });
      mkdirSync(etc);
      writeFileSync(`${etc}/resolv.conf`, text, { mode: 0o644 });
    }

    const req: PodNetworkRequest = {
      id,
      netnsPath: state.netns.path,
      args: state.cniArgs,
      capabilityArgs: capabilityArgs(state, config.portMappings, config.dnsConfig),
    };
    if (state.network.defaultConf && !choice.setup) {
      mkdirSync(state.network.confDir, { recursive: true });
      writeFileSync(`${state.network.confDir}/10-cnilab.conflist`, defaultConflist(state.network.plugins));
      // the bridge plugin turns ip_forward on as gateway; the ledger restores it when the last owner goes
      await setSysctl(owner, "net.ipv4.ip_forward", "1");
    }
    // libcni's result cache (shared with other pods), recorded before the DEL that empties it
    await owner.mkdir(`${state.network.cacheDir ?? DEFAULT_CACHE_DIR}/results`, 0o700);
    // CNI ADD into the pinned namespace, with no process in it yet (containerd's setupPodNetwork)
    await owner.record(network.undo(req));
    state.status = await timed(timings, "cni-add", () => network.setup(req));
    writeState(state);

    // then pause, started inside the namespace CNI has just configured (containerd's NewTask + Start)
    state.holder = await timed(
      timings,
      "holder",
      () =>
        startHolder(owner, {
          netnsPath: state.netns.path,
          dir,
          hostname: state.hostname,
          sharePid: state.sharePid,
        }),
    );
    state.phase = "ready";
    timings.push({ step: "sandbox-ready", ms: performance.now() - started });
    writeState(state);
    await owner.keep();
    return state;
  } catch (error) {
    await owner.release();
    tidySandboxDir();
    throw error;
  }
}

/**
 * StopPodSandbox (containerd's `stopPodSandbox`, sandbox_stop.go): stop every container, stop the holder,
 * CNI DEL with the netns path (or "" once the namespace is closed), then remove the pinned namespace and
 * its /etc/netns dir. Safe to repeat: RemovePodSandbox does, which is the second DEL of a pod's life.
 * Under the pod's lock (state.ts `withSandboxLock`): two cnilab processes on one pod take turns.
 */
export function stopPodSandbox(id: string): Promise<SandboxState> {
  return withSandboxLock(id, () => stopLocked(id));
}

async function stopLocked(id: string): Promise<SandboxState> {
  const state = readState(id);
  const owner = await Owner.open(state.ownerId);
  const timings: Timing[] = [];
  const started = performance.now();
  await timed(timings, "containers-stop", async () => {
    await Promise.all(state.containers.map(async (c) => {
      if (c.process) await stopContainerProcess(c.process);
      if (c.phase === "running") {
        c.phase = "exited";
        c.finishedAt = new Date().toISOString();
      }
    }));
  });
  if (state.holder) await timed(timings, "holder-stop", () => stopHolder(state.holder as Holder));
  // containerd 1.6 tears down when it has a CNI result (`if sandbox.CNIResult != nil`)
  if (state.status) {
    const network = networkFromDescription(state.network);
    const req = networkRequest(state);
    await timed(timings, "cni-del", () => network.teardown(req));
    // the journal's CNI DEL (recorded before ADD, with the request as it was then) is done now
    const undo = network.undo(req);
    for (const o of owner.objects()) {
      if (o.kind === undo.kind && describe(o) === describe(undo)) await owner.forget(o);
    }
  }
  if (state.netns.path) {
    await timed(timings, "netns-unpin", async () => {
      await unpinNetns(state.netns.path);
      rmSync(netnsEtcDir(state.netns.name), { recursive: true, force: true });
    });
  }
  state.phase = "notready";
  timings.push({ step: "sandbox-stop", ms: performance.now() - started });
  state.timings.push(...timings);
  writeState(state);
  return state;
}

/**
 * RemovePodSandbox (containerd's sandbox_remove.go): "forcibly stops" the sandbox first — always, so after a
 * StopPodSandbox this is a second CNI DEL, with CNI_NETNS="" and no prevResult — then removes state, logs and
 * the name claim, and releases the owner's journal (which also catches anything an earlier crash left).
 * Returns the timings of the removal. Under the pod's lock, like StopPodSandbox.
 */
export function removePodSandbox(id: string): Promise<Timing[]> {
  return withSandboxLock(id, () => removeLocked(id));
}

async function removeLocked(id: string): Promise<Timing[]> {
  const before = readState(id).timings.length;
  const started = performance.now();
  const state = await stopPodSandbox(id);
  const timings: Timing[] = state.timings.slice(before);
  const owner = await Owner.open(state.ownerId);
  await timed(timings, "release", async () => {
    rmSync(statePath(id), { force: true });
    rmSync(claimPath(state.namespace, state.name), { force: true });
    rmSync(state.dir, { recursive: true, force: true });
    await owner.release();
  });
  tidySandboxDir();
  timings.push({ step: "sandbox-remove", ms: performance.now() - started });
  return timings;
}
