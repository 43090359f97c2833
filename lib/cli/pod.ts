/**
 * `cnilab pod`: run Pod manifests on cnilab's sandbox runtime, kubectl-style: run, ls, exec, logs, stop, rm.
 * @module
 */
import { readFileSync } from "node:fs";
import process from "node:process";
import { parseArgs } from "node:util";
import Table from "cli-table3";
import { listOwners } from "../ownership/mod.ts";
import { readContainerdConfig } from "../runtime/containerd.ts";
import {
  containerLogs,
  execSync,
  findSandbox,
  listPodSandbox,
  ManifestError,
  type NetworkChoice,
  parsePodManifest,
  removePodSandbox,
  runPod,
  SandboxError,
  type SandboxState,
  stopPodSandbox,
} from "../sandbox/mod.ts";
import { type Command, Exit, UsageError } from "./command.ts";
import { table } from "./table.ts";
import { requireRoot } from "./env.ts";

const USAGE = `usage:
  cnilab pod run <pod.yaml> [--conf-dir DIR] [--bin-dir DIR[:DIR…]]
                 [--max-conf-num N] [--cache-dir DIR] [--containerd-config FILE]
                 [--plugins cnilab|reference] [--json]
  cnilab pod ls [-o wide] [--json]
  cnilab pod exec <pod> [-c CONTAINER] -- <command> [args…]
  cnilab pod logs <pod> [-c CONTAINER]
  cnilab pod stop <pod>…
  cnilab pod rm <pod>… | --all

A pod is named by its name, namespace/name, or a prefix of its sandbox ID.

run   RunPodSandbox (netns /var/run/netns/cni-<uuid>, pause holder, CNI ADD),
      then CreateContainer and StartContainer for each container; prints the
      time of each step. Images are cnilab's built-in ones (nginx* → a static
      web server on the containerPort, busybox* → busybox applets); see
      docs/sandbox.md, "Built-in images".
      CNI config: --conf-dir (containerd's conf_dir, first --max-conf-num
      files, default 1) with plugins from --bin-dir; or the
      [plugins."io.containerd.grpc.v1.cri".cni] table of --containerd-config;
      otherwise cnilab's default conflist (bridge cnilab0, host-local
      10.89.0.0/16) run by cnilab's plugins (dist/cni, when built) or, with
      --plugins reference, by the reference plugins (/usr/lib/cni).
ls    the pods, like 'kubectl get pods'; -o wide adds the netns, sandbox id and
      pause PID in full (as wide as they are)
exec  runs a command in a container's namespaces (network, IPC, UTS; PID with
      shareProcessNamespace)
logs  a container's output (default: the first container)
stop  StopPodSandbox: containers and pause stopped, CNI DEL, the pinned netns
      removed
rm    RemovePodSandbox: stops it again (a second CNI DEL), removes state and
      logs`;

function fail(error: unknown): never {
  if (error instanceof ManifestError || error instanceof SandboxError) throw new UsageError(error.message);
  if (error instanceof Error && error.name === "ConfigError") throw new UsageError(error.message);
  throw error;
}

function age(iso: string): string {
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  return `${Math.floor(s / 3600)}h`;
}

function status(s: SandboxState): string {
  if (s.phase === "creating") return "ContainerCreating";
  if (s.phase === "notready") return "NotReady";
  return "Running";
}

function kubectlTable(head: string[]): Table.Table {
  return new Table({
    head,
    chars: {
      top: "",
      "top-mid": "",
      "top-left": "",
      "top-right": "",
      bottom: "",
      "bottom-mid": "",
      "bottom-left": "",
      "bottom-right": "",
      left: "",
      "left-mid": "",
      mid: "",
      "mid-mid": "",
      right: "",
      "right-mid": "",
      middle: "   ",
    },
    style: { head: [], border: [], "padding-left": 0, "padding-right": 0 },
  });
}

/** The step timings of a sandbox or pod as a table. */
export function timingsTable(timings: { step: string; ms: number }[]): string {
  const t = kubectlTable(["STEP", "MS"]);
  for (const x of timings) t.push([x.step, x.ms.toFixed(1)]);
  return t.toString();
}

function podRow(s: SandboxState): string[] {
  const running = s.containers.filter((c) => c.phase === "running").length;
  const restarts = s.containers.reduce((n, c) => n + c.restartCount, 0);
  return [
    s.namespace,
    s.name,
    `${running}/${s.containers.length}`,
    status(s),
    String(restarts),
    age(s.createdAt),
    s.phase === "ready" ? s.status?.ip ?? "<none>" : "<none>",
    s.id.slice(0, 13),
    s.netns.name || "<none>",
    s.holder ? String(s.holder.pid) : "<none>",
  ];
}

function networkChoice(values: Record<string, string | boolean | undefined>): NetworkChoice {
  const choice: NetworkChoice = {};
  if (typeof values["containerd-config"] === "string") {
    const c = readContainerdConfig(values["containerd-config"]);
    choice.confDir = c.confDir;
    choice.binDirs = c.binDirs;
    choice.maxConfNum = c.maxConfNum;
  }
  if (typeof values["conf-dir"] === "string") choice.confDir = values["conf-dir"];
  if (typeof values["bin-dir"] === "string") choice.binDirs = values["bin-dir"].split(":").filter(Boolean);
  if (typeof values["max-conf-num"] === "string") {
    const n = Number(values["max-conf-num"]);
    if (!Number.isInteger(n)) {
      throw new UsageError(`--max-conf-num must be an integer, got ${values["max-conf-num"]}`);
    }
    choice.maxConfNum = n;
  }
  if (typeof values["cache-dir"] === "string") choice.cacheDir = values["cache-dir"];
  if (values.plugins !== undefined) {
    if (values.plugins !== "cnilab" && values.plugins !== "reference") {
      throw new UsageError(`--plugins is cnilab or reference, got ${values.plugins}`);
    }
    choice.plugins = values.plugins;
  }
  return choice;
}

async function podRun(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      "conf-dir": { type: "string" },
      "bin-dir": { type: "string" },
      "max-conf-num": { type: "string" },
      "cache-dir": { type: "string" },
      "containerd-config": { type: "string" },
      plugins: { type: "string" },
      json: { type: "boolean" },
    },
  });
  if (positionals.length !== 1) {
    throw new UsageError("pod run takes one manifest file: cnilab pod run <pod.yaml>");
  }
  const file = positionals[0];
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    throw new UsageError(`cannot read ${file}`);
  }
  const manifest = (() => {
    try {
      return parsePodManifest(text, file);
    } catch (error) {
      fail(error);
    }
  })();
  requireRoot();
  const choice = networkChoice(values);
  // Ctrl-C or SIGTERM half-way: remove what this run created (cnilab clean would, too) and exit 130/143
  const interrupted = async (signal: "SIGINT" | "SIGTERM") => {
    console.error(`cnilab pod run: ${signal}: removing pod ${manifest.namespace}/${manifest.name}`);
    for (const o of await listOwners()) {
      if (o.info.pid === process.pid && o.info.label === `${manifest.namespace}/${manifest.name}`) {
        await o.release();
      }
    }
    process.exit(signal === "SIGINT" ? 130 : 143);
  };
  const onInt = () => void interrupted("SIGINT");
  const onTerm = () => void interrupted("SIGTERM");
  process.on("SIGINT", onInt);
  process.on("SIGTERM", onTerm);
  const result = await runPod(manifest, choice).catch(fail).finally(() => {
    process.off("SIGINT", onInt);
    process.off("SIGTERM", onTerm);
  });
  const s = result.sandbox;
  if (values.json) {
    console.log(JSON.stringify({ pod: s, timings: result.timings }, null, 2));
    return Exit.Ok;
  }
  console.log(`pod/${s.name} created in namespace ${s.namespace}`);
  console.log(`  sandbox ${s.id.slice(0, 13)}  netns ${s.netns.path}  holder pause (PID ${s.holder?.pid})`);
  console.log(`  IP ${s.status?.ips.join(", ") || "<none>"}`);
  console.log(timingsTable(result.timings));
  return Exit.Ok;
}

function podLs(argv: string[]): number {
  const { values } = parseArgs({
    args: argv,
    options: { json: { type: "boolean" }, output: { type: "string", short: "o" } },
  });
  if (values.output !== undefined && values.output !== "wide") {
    throw new UsageError(`-o takes 'wide', got '${values.output}'`);
  }
  const pods = listPodSandbox();
  if (values.json) {
    console.log(JSON.stringify(pods, null, 2));
    return Exit.Ok;
  }
  if (pods.length === 0) {
    console.log("No pods found.");
    return Exit.Ok;
  }
  // like `kubectl get pods`, fitted to the terminal; -o wide, like kubectl's, asks for every column in
  // full (the netns and sandbox id to copy into other commands) and is as wide as they are
  const wide = values.output === "wide";
  const head = [
    "NAMESPACE",
    "NAME",
    "READY",
    "STATUS",
    "IP",
    "AGE",
    ...(wide ? ["NETNS", "SANDBOX", "PAUSE"] : []),
  ];
  const rows = pods.map((s) => {
    const r = podRow(s);
    return [r[0], r[1], r[2], r[3], r[6], r[5], ...(wide ? [r[8], r[7], r[9]] : [])];
  });
  console.log(table(head, rows, wide ? { width: Infinity } : { flex: 1 }));
  return Exit.Ok;
}

async function podExec(argv: string[]): Promise<number> {
  const dash = argv.indexOf("--");
  if (dash < 0 || dash === argv.length - 1) {
    throw new UsageError("usage: cnilab pod exec <pod> [-c CONTAINER] -- <command> [args…]");
  }
  const { values, positionals } = parseArgs({
    args: argv.slice(0, dash),
    allowPositionals: true,
    options: { container: { type: "string", short: "c" } },
  });
  if (positionals.length !== 1) throw new UsageError("pod exec takes one pod name");
  requireRoot();
  let sandbox: SandboxState;
  try {
    sandbox = findSandbox(positionals[0]);
  } catch (error) {
    fail(error);
  }
  const r = await execSync(sandbox.id, values.container, argv.slice(dash + 1)).catch(fail);
  process.stdout.write(r.stdout);
  process.stderr.write(r.stderr);
  return r.code;
}

function podLogs(argv: string[]): number {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { container: { type: "string", short: "c" } },
  });
  if (positionals.length !== 1) throw new UsageError("pod logs takes one pod name");
  try {
    process.stdout.write(containerLogs(findSandbox(positionals[0]).id, values.container));
  } catch (error) {
    fail(error);
  }
  return Exit.Ok;
}

async function podStopOrRm(argv: string[], rm: boolean): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { all: { type: "boolean" }, json: { type: "boolean" } },
  });
  requireRoot();
  const targets = values.all && rm ? listPodSandbox() : positionals.map((p) => {
    try {
      return findSandbox(p);
    } catch (error) {
      fail(error);
    }
  });
  if (targets.length === 0 && !values.all) throw new UsageError(`pod ${rm ? "rm" : "stop"} needs a pod name`);
  const report: { pod: string; timings: { step: string; ms: number }[] }[] = [];
  for (const s of targets) {
    const timings = rm
      ? await removePodSandbox(s.id).catch(fail)
      : (await stopPodSandbox(s.id).catch(fail)).timings.slice(-5);
    report.push({ pod: `${s.namespace}/${s.name}`, timings });
    if (!values.json) console.log(`pod/${s.name} ${rm ? "deleted" : "stopped"}`);
  }
  if (values.json) console.log(JSON.stringify(report, null, 2));
  return Exit.Ok;
}

/** `cnilab pod` */
export const pod: Command = {
  name: "pod",
  summary: "run Pod manifests on the CRI-shaped sandbox runtime: run, ls, exec, logs, stop, rm",
  usage: USAGE,
  async run(argv) {
    const [sub, ...rest] = argv;
    switch (sub) {
      case "run":
        return await podRun(rest);
      case "ls":
      case "list":
        return podLs(rest);
      case "exec":
        return await podExec(rest);
      case "logs":
        return podLogs(rest);
      case "stop":
        return await podStopOrRm(rest, false);
      case "rm":
      case "delete":
        return await podStopOrRm(rest, true);
      default:
        throw new UsageError(`unknown pod command ${sub ?? "(none)"}; see cnilab pod --help`);
    }
  },
};
