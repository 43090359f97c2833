/**
 * Lab 2.2 "Kubelet CNI Flow": the chapter's 11-step pod creation sequence, each step executed by the
 * component that owns it in cnilab and timed, ending in the chapter's "STEP 8-11" box filled with the real
 * pod IP, routes, DNS and total time.
 * @module
 */
import { existsSync, readFileSync, readlinkSync } from "node:fs";
import { hostname } from "node:os";
import { addr, link, netns, route } from "../lib/iproute2/mod.ts";
import type { Lab } from "../lib/lab/mod.ts";
import { CollisionError } from "../lib/ownership/mod.ts";
import { CniNetworks } from "../lib/runtime/mod.ts";
import {
  containerLogs,
  createContainer,
  type DnsConfig,
  parsePodManifest,
  planProcess,
  type PodManifest,
  readState,
  removePodSandbox,
  runPodSandbox,
  sandboxConfig,
  type SandboxState,
  startContainer,
  stopPodSandbox,
  validatePod,
} from "../lib/sandbox/mod.ts";
import {
  bridgeConflist,
  callSequence,
  freeSubnet,
  labDir,
  markedBridge,
  podUndo,
  readCalls,
  recordingBinDir,
  REPO_ROOT,
  requirePlugins,
  type Subnet,
} from "./support.ts";

const BRIDGE = "cnilab22";
const POD = "lab22-multi-container-pod";
const CLUSTER_DNS = "10.96.0.10";
/** What the network config tells the plugin to report as `dns` in its result (advisory only). */
const RESULT_DNS = "10.96.99.99";

interface State {
  dir: string;
  confDir: string;
  binDir: string;
  callsDir: string;
  subnet?: Subnet;
  pod?: PodManifest;
  nodeName: string;
  sandbox?: SandboxState;
  containerIds: string[];
  /** The chapter's step number → measured milliseconds. */
  timings: Map<string, number>;
  netnsAfterStop?: boolean;
}

async function timed<T>(s: State, step: string, fn: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await fn();
  } finally {
    s.timings.set(step, (s.timings.get(step) ?? 0) + performance.now() - started);
  }
}

function ms(n: number | undefined): string {
  return n === undefined ? "?" : `${n.toFixed(1)} ms`;
}

/** Lab 2.2. */
export const kubeletCniFlow: Lab<State> = {
  id: "kubelet-cni-flow",
  section: "2.2",
  title: "Kubelet CNI Flow",
  summary: "The 11-step pod creation sequence, each step run by the component that owns it, timed",
  init: () => ({
    dir: "",
    confDir: "",
    binDir: "",
    callsDir: "",
    nodeName: "",
    containerIds: [],
    timings: new Map(),
  }),

  async preflight(ctx) {
    requirePlugins();
    if (await link.get(BRIDGE)) throw new CollisionError(`link ${BRIDGE}`);
    ctx.state.subnet = await freeSubnet();
  },

  steps: [
    {
      title: "API Server: a new Pod is created (chapter step 1)",
      mirrors: "2.2 Pod Creation Sequence, step 1: New Pod created",
      narration:
        "The API server validates the Pod and stores it. cnilab has no API server: this step parses and " +
        "validates the chapter's multi-container Pod manifest (examples/multi-container-pod.yaml), renamed for " +
        "this lab, into a typed Pod — the object the rest of the flow works from.",
      async run(ctx) {
        const s = ctx.state;
        const text = readFileSync(`${REPO_ROOT}/examples/multi-container-pod.yaml`, "utf8")
          .replace("name: multi-container-pod", `name: ${POD}`);
        s.pod = await timed(
          s,
          "1",
          () => Promise.resolve(parsePodManifest(text, "multi-container-pod.yaml")),
        );
      },
      check(ctx) {
        const pod = ctx.state.pod!;
        ctx.expect(
          "the Pod has the chapter's two containers",
          pod.containers.map((c) => `${c.name}:${c.image}`),
          [
            "web:nginx:1.21",
            "sidecar:busybox",
          ],
        );
        return Promise.resolve();
      },
    },
    {
      title: "Scheduler: assign the Pod to a node whose network is ready (chapter step 2)",
      mirrors: "2.2 Pod Creation Sequence, step 2: Assign to Node",
      narration: "The scheduler only places pods on Ready nodes, and a node is Ready only when its runtime " +
        "reports NetworkReady — which containerd does by asking CNI: a config must be loadable and its plugins " +
        "must answer STATUS. This lab's node gets its conf dir, bin dir and bridge, and the scheduler's decision " +
        "is the Pod's nodeName.",
      async run(ctx) {
        const s = ctx.state;
        s.dir = await labDir(ctx);
        s.confDir = `${s.dir}/net.d`;
        ({ binDir: s.binDir, callsDir: s.callsDir } = await recordingBinDir(ctx, s.dir));
        const subnet = s.subnet!;
        // the plugin reports this `dns` in its result; whether anyone uses it is step 11's question
        const conf = JSON.parse(
          bridgeConflist("lab22", BRIDGE, subnet, `${s.dir}/ipam`, { defaultGateway: true }),
        );
        conf.plugins[0].dns = { nameservers: [RESULT_DNS] };
        await ctx.writeFile(`${s.confDir}/10-lab22.conflist`, JSON.stringify(conf, null, 2));
        await markedBridge(ctx, BRIDGE);
        await timed(s, "2", async () => {
          const cni = await CniNetworks.load({ confDir: s.confDir, binDirs: [s.binDir], loopback: false });
          await cni.status();
          s.nodeName = hostname();
        });
        ctx.note(
          `node ${s.nodeName}: NetworkReady (CNI STATUS answered), Pod ${POD} → nodeName ${s.nodeName}`,
        );
      },
      check(ctx) {
        const statuses = readCalls(ctx.state.callsDir).filter((c) => c.command === "STATUS");
        ctx.expect(
          "the node's plugins answered STATUS: ready (the bridge asks its IPAM plugin too)",
          statuses.map((c) => `${c.type}: exit ${c.exitCode}`),
          ["cnilab-bridge: exit 0", "cnilab-host-local: exit 0"],
        );
        return Promise.resolve();
      },
    },
    {
      title: "Kubelet: the watch delivers the Pod; the kubelet admits it (chapter step 3)",
      mirrors: "2.2 Pod Creation Sequence, step 3: Watch detects Pod",
      narration:
        "The kubelet on the chosen node sees the Pod and admits it: every image must be runnable here. " +
        "cnilab has no registry, so images map to built-in process images (nginx → a static web server, " +
        "busybox → busybox applets); an unknown image would stop the Pod here, before anything is created.",
      async run(ctx) {
        await timed(ctx.state, "3", () => validatePod(ctx.state.pod!));
      },
      check(ctx) {
        ctx.expect(
          "both containers' images resolve to process images",
          ctx.state.pod!.containers.map((c) => c.imageKind),
          [
            "nginx",
            "busybox",
          ],
        );
        return Promise.resolve();
      },
    },
    {
      title: "Kubelet → containerd RunPodSandbox: netns, CNI ADD, result, pause, ready (chapter steps 4–8)",
      mirrors:
        "2.2 Pod Creation Sequence, steps 4–8: RunPodSandbox, create netns, CNI ADD, return IPs, Sandbox ready",
      narration:
        "RunPodSandbox(config: metadata name/namespace/uid, hostname, labels, annotations, dns_config, " +
        "port_mappings, namespace_options) covers steps 4–8. containerd pins a cni-<uuid> namespace (5), calls " +
        "CNI ADD (6, 7) and only then starts pause inside it (8). The chapter starts pause first: the order from " +
        "when the namespace belonged to the pause process. A pinned namespace exists with no process in it, " +
        "which is what lets containerd configure it first.",
      async run(ctx) {
        const s = ctx.state;
        const pod = s.pod!;
        await ctx.owner.record(podUndo(POD));
        // the kubelet's DNSConfig for a ClusterFirst pod (cluster DNS, search path, ndots)
        const dnsConfig: DnsConfig = {
          servers: [CLUSTER_DNS],
          searches: [`${pod.namespace}.svc.cluster.local`, "svc.cluster.local", "cluster.local"],
          options: ["ndots:5"],
        };
        s.sandbox = await timed(s, "4-8", () =>
          runPodSandbox(sandboxConfig(pod, { dnsConfig }), {
            confDir: s.confDir,
            binDirs: [s.binDir],
            cacheDir: `${s.dir}/cache`,
          }));
        const t = Object.fromEntries(s.sandbox.timings.map((x) => [x.step, x.ms]));
        ctx.note(
          [
            `4. RunPodSandbox()                 ${ms(t["sandbox-ready"])} in all`,
            `5. create network namespace        ${ms(t.netns)}  (${s.sandbox.netns.path})`,
            `6. CNI ADD                         ${ms(t["cni-add"])}`,
            `7. return IPs, routes              ${s.sandbox.status?.ips.join(", ")}`,
            `   start pause in the namespace    ${ms(t.holder)}  (PID ${s.sandbox.holder?.pid})`,
            `8. sandbox ready`,
          ].join("\n"),
        );
      },
      async check(ctx) {
        const s = ctx.state;
        const sb = s.sandbox!;
        const adds = readCalls(s.callsDir).filter((c) => c.command === "ADD");
        ctx.expect(
          "containerd's order: no process was in the namespace during CNI ADD (pause came after)",
          adds.map((c) => `${c.type}: ${c.netnsPids?.length ?? "unknown"} processes`),
          ["loopback: 0 processes", "cnilab-bridge: 0 processes", "cnilab-host-local: 0 processes"],
        );
        ctx.expect(
          "the sandbox runtime timed netns, CNI ADD, pause, in that order",
          sb.timings.map((t) => t.step),
          ["netns", "cni-add", "holder", "sandbox-ready"],
        );
        const holderNs = readlinkSync(`/proc/${sb.holder!.pid}/ns/net`);
        const netnsIno = (await import("node:fs")).statSync(sb.netns.path).ino;
        ctx.expect("the pause holder lives in the pinned namespace", holderNs, `net:[${netnsIno}]`);
        const eth0 = (await addr.list({ netns: sb.netns.name, dev: "eth0", family: 4 })).map((a) => a.cidr);
        ctx.expect("eth0 has the IP that CNI ADD returned", eth0, sb.status?.ips);
        const pod = s.pod!;
        ctx.expect(
          "RunPodSandbox's request reached the runtime: name, namespace, uid, hostname",
          [sb.name, sb.namespace, sb.uid, sb.hostname],
          [pod.name, pod.namespace, pod.uid ?? sb.uid, pod.hostname ?? pod.name],
        );
        ctx.expect(
          "and CNI: CNI_ARGS carry the pod's namespace, name and uid",
          adds[1]?.args.split(";").filter((kv) => /^K8S_POD_(NAMESPACE|NAME|UID)=/.test(kv)),
          [`K8S_POD_NAMESPACE=${pod.namespace}`, `K8S_POD_NAME=${pod.name}`, `K8S_POD_UID=${sb.uid}`],
        );
        ctx.expect("the sandbox is ready", sb.phase, "ready");
      },
    },
    {
      title: "Kubelet → containerd CreateContainer: web, sidecar (chapter step 9)",
      mirrors: "2.2 Pod Creation Sequence, step 9: CreateContainer()",
      narration:
        "CreateContainer(pod_sandbox_id, config: name, image, command/args, envs, working_dir, ports) " +
        "for each container: the image is resolved into a process and its files; nothing runs yet.",
      async run(ctx) {
        const s = ctx.state;
        const pod = s.pod!;
        await timed(s, "9", async () => {
          for (const [i, c] of pod.containers.entries()) {
            const plan = await planProcess(
              pod,
              c,
              `${s.sandbox!.dir}/containers/${c.name}`,
              `spec.containers[${i}]`,
            );
            s.containerIds.push(createContainer(s.sandbox!.id, {
              name: c.name,
              image: c.image,
              argv: plan.argv,
              env: { ...plan.env, ...Object.fromEntries(c.env.map((e) => [e.name, e.value])) },
              ports: c.ports,
              files: plan.files,
            }));
          }
        });
      },
      check(ctx) {
        const state = readState(ctx.state.sandbox!.id);
        ctx.expect(
          "both containers are created, not running",
          state.containers.map((c) => `${c.name}:${c.phase}`),
          [
            "web:created",
            "sidecar:created",
          ],
        );
        return Promise.resolve();
      },
    },
    {
      title: "Kubelet → containerd StartContainer: web, sidecar (chapter step 10)",
      mirrors: "2.2 Pod Creation Sequence, step 10: StartContainer()",
      narration:
        "StartContainer(container_id) joins the process to pause's namespaces: the pod's network (eth0, " +
        "the pod IP, localhost), IPC and hostname. No CNI call happens here: CNI ran once, for the sandbox.",
      async run(ctx) {
        const s = ctx.state;
        const before = readCalls(s.callsDir).length;
        await timed(s, "10", async () => {
          for (const id of s.containerIds) await startContainer(s.sandbox!.id, id);
        });
        ctx.note(`CNI calls during StartContainer: ${readCalls(s.callsDir).length - before}`);
      },
      check(ctx) {
        const s = ctx.state;
        const state = readState(s.sandbox!.id);
        ctx.expect("both containers run", state.containers.map((c) => `${c.name}:${c.phase}`), [
          "web:running",
          "sidecar:running",
        ]);
        const adds = readCalls(s.callsDir).filter((c) => c.command === "ADD");
        ctx.expect("CNI ADD ran once per network, for the sandbox only", adds.map((c) => c.type), [
          "loopback",
          "cnilab-bridge",
          "cnilab-host-local",
        ]);
        return Promise.resolve();
      },
    },
    {
      title: "Pod Running: the chapter's STEP 8-11 box, filled in (chapter step 11)",
      mirrors: "2.2 Detailed Step Breakdown, STEP 8-11: IP, Routes, DNS, Pod Running",
      narration:
        "The pod runs: the sidecar fetches the web container over localhost. The box the chapter draws " +
        "with an example 10.0.1.5 is filled in with what the kernel reports. DNS: the runtime wrote the pod's " +
        "resolv.conf from the kubelet's DNSConfig; the `dns` in the CNI result is advisory and was not used.",
      async run(ctx) {
        const s = ctx.state;
        const sb = s.sandbox!;
        let log = "";
        await timed(s, "11", async () => {
          for (let i = 0; i < 100 && !log.includes("<h1>"); i++) {
            log = containerLogs(sb.id, "sidecar");
            if (!log.includes("<h1>")) await new Promise((r) => setTimeout(r, 50));
          }
        });
        const routes = (await route.list({ netns: sb.netns.name })).map((r) =>
          `${r.dst}${r.via ? ` via ${r.via}` : ""} dev ${r.dev}`
        );
        const dns = await netns.exec(sb.netns.name, ["cat", "/etc/resolv.conf"], {
          purpose: "read",
        });
        const nameserver = /nameserver (\S+)/.exec(dns.stdout)?.[1] ?? "none";
        const total = [...s.timings.values()].reduce((a, b) => a + b, 0);
        const pad = (t: string) => t.padEnd(40);
        ctx.note([
          "┌──────────────────────────────────────────┐",
          `│ ${pad(`IP: ${sb.status?.ip}`)} │`,
          ...routes.map((r) => `│ ${pad(`Route: ${r}`)} │`),
          `│ ${pad(`DNS: nameserver ${nameserver}`)} │`,
          `│ ${pad(`Pod Running! total ${total.toFixed(1)} ms`)} │`,
          "└──────────────────────────────────────────┘",
          "",
          "step  owner                      duration",
          ...[
            ["1", "API server (manifest)"],
            ["2", "scheduler (node ready)"],
            ["3", "kubelet (admit)"],
            ["4-8", "containerd RunPodSandbox"],
            ["9", "containerd CreateContainer"],
            ["10", "containerd StartContainer"],
            ["11", "pod (first fetch)"],
          ].map(([k, who]) => `${k.padEnd(5)} ${who.padEnd(26)} ${ms(s.timings.get(k))}`),
        ].join("\n"));
      },
      async check(ctx) {
        const sb = ctx.state.sandbox!;
        const log = containerLogs(sb.id, "sidecar");
        ctx.expectThat(
          "the sidecar fetched the web page over localhost",
          log.includes("<h1>"),
          "the nginx page in the sidecar's log",
          log.slice(0, 80) || "empty log",
        );
        const def = (await route.list({ netns: sb.netns.name })).find((r) => r.dst === "default");
        ctx.expect(
          "the pod's default route goes via the bridge's gateway",
          def?.via,
          ctx.state.subnet!.gateway,
        );
        const dns = await netns.exec(sb.netns.name, ["cat", "/etc/resolv.conf"], {
          purpose: "read",
        });
        const bridgeAdd = readCalls(ctx.state.callsDir).find((c) =>
          c.command === "ADD" && c.type === "cnilab-bridge"
        );
        let resultDns: unknown;
        try {
          resultDns = JSON.parse(bridgeAdd?.stdout ?? "{}").dns;
        } catch { /* reported below */ }
        ctx.expect(
          "resolv.conf is the kubelet's DNSConfig, written by the runtime; the result's dns was not used",
          [/nameserver (\S+)/.exec(dns.stdout)?.[1], resultDns],
          [CLUSTER_DNS, { nameservers: [RESULT_DNS] }],
        );
        ctx.expect(
          "the runtime's copy in the sandbox dir is the same file",
          readFileSync(`${sb.dir}/resolv.conf`, "utf8"),
          dns.stdout,
        );
        const subnet = ctx.state.subnet!;
        ctx.expectThat(
          "the pod IP comes from the network's IPAM range (the chapter's 10.0.1.5 is an example)",
          (sb.status?.ip ?? "").startsWith(subnet.cidr.split(".").slice(0, 3).join(".") + "."),
          `an address in ${subnet.cidr}`,
          sb.status?.ip ?? "none",
        );
      },
    },
    {
      title: "Pod deleted: StopPodSandbox (CNI DEL, namespace removed), RemovePodSandbox",
      mirrors: "2.1 FLOW: Pod Deleted → Kubelet → CRI → CNI DEL",
      narration:
        "StopPodSandbox(pod_sandbox_id) stops the containers and pause, calls CNI DEL with the namespace " +
        "path and removes the namespace. RemovePodSandbox(pod_sandbox_id) stops it again (a second DEL, " +
        "CNI_NETNS empty), then removes the sandbox's state.",
      deletes: true,
      async run(ctx) {
        const s = ctx.state;
        await timed(s, "stop", () => stopPodSandbox(s.sandbox!.id));
        s.netnsAfterStop = existsSync(s.sandbox!.netns.path);
        await timed(s, "remove", () => removePodSandbox(s.sandbox!.id));
        await ctx.owner.forget(podUndo(POD));
        const recorded = callSequence(readCalls(ctx.state.callsDir));
        ctx.sequence("The calls the recorder wrote down", recorded.participants, recorded.messages);
      },
      async check(ctx) {
        const s = ctx.state;
        const dels = readCalls(s.callsDir).filter((c) => c.command === "DEL");
        ctx.expect(
          "CNI DEL ran at Stop (with the netns path) and again at Remove (CNI_NETNS empty)",
          dels.map((c) => `${c.type} ${c.netns ? "path" : "empty"}`),
          [
            "loopback path",
            "cnilab-bridge path",
            "cnilab-host-local path",
            "loopback empty",
            "cnilab-bridge empty",
            "cnilab-host-local empty",
          ],
        );
        ctx.expect("the pinned namespace was gone after StopPodSandbox", s.netnsAfterStop, false);
        ctx.expect(
          "no port is left on the bridge",
          (await link.list()).filter((l) => l.master === BRIDGE).length,
          0,
        );
      },
    },
  ],

  explore(ctx) {
    const sb = ctx.state.sandbox;
    return [
      "cnilab pod ls",
      `cnilab pod logs ${POD} -c sidecar`,
      `ip netns exec ${sb?.netns.name ?? "cni-…"} ip route`,
      "cnilab show --netns cni-",
      "cnilab clean",
    ];
  },
};
