/**
 * Lab 2.1 "Kubernetes & CNI Integration": the configuration step (a conf dir with several files, a bin dir
 * and the runtime's config.toml that names them; what a broken file does to a containerd node; which config
 * containerd picks and why; how a plugin binary is found by its type), then the two flows — pod created →
 * CRI → CNI ADD → pod has network, and pod deleted → StopPodSandbox/RemovePodSandbox → CNI DEL (twice) →
 * network cleaned up — with a recording of exactly what the plugins received.
 * @module
 */
import { existsSync, readdirSync } from "node:fs";
import { addr, link, netns } from "../lib/iproute2/mod.ts";
import type { Lab } from "../lib/lab/mod.ts";
import { CollisionError } from "../lib/ownership/mod.ts";
import {
  confFiles,
  type ContainerdCniSettings,
  findInPath,
  loadConfDir,
  loadNetworkConf,
  PluginNotFoundError,
  readContainerdConfig,
} from "../lib/runtime/mod.ts";
import {
  type NetworkChoice,
  removePodSandbox,
  runPodSandbox,
  type RuntimeCondition,
  runtimeStatus,
  type SandboxState,
  stopPodSandbox,
} from "../lib/sandbox/mod.ts";
import { run } from "../lib/shell/mod.ts";
import {
  box,
  bridgeConflist,
  callSequence,
  describeCalls,
  describeNetlink,
  freeSubnet,
  labDir,
  markedBridge,
  type PluginCall,
  podUndo,
  readCalls,
  recordingBinDir,
  requirePlugins,
  type Subnet,
} from "./support.ts";
import { checkTrace } from "./support-trace.ts";

const BRIDGE = "cnilab21";
const NETWORK = "lab-pods";
const POD = "lab21-web";

interface State {
  dir: string;
  confDir: string;
  binDir: string;
  callsDir: string;
  dataDir: string;
  toml: string;
  settings?: ContainerdCniSettings;
  subnet?: Subnet;
  /** What the broken file did: each loader's error, the node's NetworkReady, the refused pod. */
  broken: {
    goCni: string;
    libcni: string;
    network?: RuntimeCondition;
    refused: string;
    readyAfter?: boolean;
  };
  pod?: SandboxState;
  hostVeth?: string;
  /** Whether the pinned namespace was still there after StopPodSandbox (it must not be). */
  netnsAfterStop?: boolean;
  /** How many DEL calls StopPodSandbox made (the rest are RemovePodSandbox's). */
  stopDels: number;
}

function calls(state: State, command: string): PluginCall[] {
  return readCalls(state.callsDir).filter((c) => c.command === command);
}

const BROKEN = "05-broken.conflist";

/** containerd 2.x's config.toml (config version 3): the CRI `[cni]` table names the conf dir and bin dirs. */
function configToml(binDir: string, confDir: string): string {
  return `# containerd 2.x config.toml: the CNI dirs are the runtime's settings, not kubelet flags
version = 3

[plugins."io.containerd.cri.v1.runtime".cni]
  bin_dirs = ["${binDir}"]
  conf_dir = "${confDir}"
  max_conf_num = 1
`;
}

/** The network choice a containerd with these settings makes for a pod. */
function choiceOf(s: State): NetworkChoice {
  const t = s.settings!;
  return { confDir: t.confDir, binDirs: t.binDirs, maxConfNum: t.maxConfNum, cacheDir: `${s.dir}/cache` };
}

/** Lab 2.1. */
export const kubernetesCniIntegration: Lab<State> = {
  id: "kubernetes-cni-integration",
  section: "2.1",
  title: "Kubernetes & CNI Integration",
  summary:
    "Conf dir + bin dir: a broken file, which config containerd picks and why, plugin lookup, ADD and DEL recorded",
  init: () => ({
    dir: "",
    confDir: "",
    binDir: "",
    callsDir: "",
    dataDir: "",
    toml: "",
    broken: { goCni: "", libcni: "", refused: "" },
    stopDels: 0,
  }),

  async preflight(ctx) {
    requirePlugins();
    if (await link.get(BRIDGE)) throw new CollisionError(`link ${BRIDGE}`);
    ctx.state.subnet = await freeSubnet();
  },

  steps: [
    {
      title: "Configuration: a conf dir, a bin dir, and the runtime's config.toml",
      mirrors: "2.1 Integration points, 1. CONFIGURATION and 2. KUBELET PARAMETERS",
      narration:
        "The runtime reads *.conf, *.conflist and *.json from its conf dir and finds plugins in its bin dir. " +
        "Since Kubernetes 1.24 the kubelet has no --network-plugin/--cni-conf-dir/--cni-bin-dir: containerd's " +
        'config.toml names the dirs, in containerd 2.x under [plugins."io.containerd.cri.v1.runtime".cni]. ' +
        "The lab's own dirs hold a broken file that sorts first, the network, a fallback .conf and a README; " +
        "the bin dir holds cnilab's plugins behind a recorder.",
      async run(ctx) {
        const s = ctx.state;
        s.dir = await labDir(ctx);
        s.confDir = `${s.dir}/net.d`;
        s.dataDir = `${s.dir}/ipam`;
        await ctx.owner.mkdir(s.confDir);
        const subnet = s.subnet!;
        const fallback = {
          cniVersion: "1.0.0",
          name: "lab-fallback",
          type: "cnilab-bridge",
          bridge: BRIDGE,
          ipam: { type: "cnilab-host-local", subnet: subnet.cidr, dataDir: s.dataDir },
        };
        await ctx.writeFile(`${s.confDir}/${BROKEN}`, '{ "cniVersion": "1.0.0", "name": ');
        await ctx.writeFile(
          `${s.confDir}/10-${NETWORK}.conflist`,
          bridgeConflist(NETWORK, BRIDGE, subnet, s.dataDir, { defaultGateway: true }),
        );
        await ctx.writeFile(`${s.confDir}/99-fallback.conf`, JSON.stringify(fallback, null, 2));
        await ctx.writeFile(`${s.confDir}/README.txt`, "not a CNI config: ignored by extension\n");
        ({ binDir: s.binDir, callsDir: s.callsDir } = await recordingBinDir(ctx, s.dir));
        // the bridge the network's plugin will adopt, marked as this lab's so teardown removes it
        await markedBridge(ctx, BRIDGE);
        s.toml = `${s.dir}/config.toml`;
        await ctx.owner.writeFile(s.toml, configToml(s.binDir, s.confDir));
        await run(["ls", "-l", s.confDir, s.binDir], { purpose: "show" });
        await run(["cat", s.toml], { purpose: "show" });
        s.settings = readContainerdConfig(s.toml);
      },
      check(ctx) {
        const s = ctx.state;
        ctx.expect("the conf dir holds four files", readdirSync(s.confDir).sort(), [
          BROKEN,
          "10-lab-pods.conflist",
          "99-fallback.conf",
          "README.txt",
        ]);
        ctx.expect(
          "the bin dir holds cnilab's plugins (loopback is cnilab-loopback)",
          readdirSync(s.binDir).sort(),
          [
            "cnilab-bridge",
            "cnilab-host-local",
            "loopback",
          ],
        );
        ctx.expect(
          "containerd 2.x (config version 3) reads the [cni] table of io.containerd.cri.v1.runtime",
          s.settings?.section,
          'plugins."io.containerd.cri.v1.runtime".cni',
        );
        ctx.expect(
          "conf_dir and bin_dirs come from config.toml, not from kubelet flags",
          [s.settings?.confDir, s.settings?.binDirs],
          [s.confDir, [s.binDir]],
        );
        return Promise.resolve();
      },
    },
    {
      title: "A broken config file sorted first: containerd loads no network",
      mirrors: "2.1 Integration points, 1. CONFIGURATION: Kubelet reads /etc/cni/net.d/*.conf, *.conflist",
      narration:
        "go-cni (containerd's loader) walks the sorted files and stops at the first one that does not " +
        "parse: the valid file after it is never loaded, the node's NetworkReady turns false and RunPodSandbox " +
        "is refused. libcni's lookup by name (cnitool, `cnilab cni`) stops at it too. CRI-O's ocicni would log " +
        "and skip it. Removing the file makes the node ready again.",
      async run(ctx) {
        const s = ctx.state;
        const b = s.broken;
        const message = (fn: () => unknown) => {
          try {
            fn();
            return "loaded";
          } catch (e) {
            return (e as Error).message;
          }
        };
        b.goCni = message(() => loadConfDir(s.confDir, { maxConfNum: 1 }));
        b.libcni = message(() => loadNetworkConf(s.confDir, NETWORK));
        const status = await runtimeStatus(choiceOf(s));
        b.network = status.conditions.find((c) => c.type === "NetworkReady");
        await ctx.owner.record(podUndo(POD));
        b.refused = await runPodSandbox({ name: POD }, choiceOf(s)).then(
          async (p) => `started ${p.id} (${(await removePodSandbox(p.id), "removed again")})`,
          (e) => (e as Error).message,
        );
        await ctx.owner.forget(podUndo(POD));
        ctx.note(
          [
            `go-cni:     ${b.goCni}`,
            `CRI Status: NetworkReady=${b.network?.status} ${b.network?.reason ?? ""} ${
              b.network?.message ?? ""
            }`,
            `RunPodSandbox: ${b.refused}`,
            `libcni by name: ${b.libcni}`,
          ].join("\n"),
        );
        await run(["rm", "-f", `${s.confDir}/${BROKEN}`], { purpose: "show" });
        b.readyAfter = (await runtimeStatus(choiceOf(s))).conditions.every((c) => c.status);
      },
      check(ctx) {
        const s = ctx.state;
        const b = s.broken;
        const file = `${s.confDir}/${BROKEN}`;
        ctx.expectThat(
          "go-cni stops at the broken file: invalid cni config, nothing loaded",
          b.goCni.startsWith(`failed to load CNI config list file ${file}: `) &&
            b.goCni.endsWith(": invalid cni config"),
          `failed to load CNI config list file ${file}: …: invalid cni config`,
          b.goCni,
        );
        ctx.expect("the node's network is not ready: cni plugin not initialized", b.network, {
          type: "NetworkReady",
          status: false,
          reason: "NetworkPluginNotReady",
          message: "Network plugin returns error: cni plugin not initialized",
        });
        ctx.expectThat(
          "RunPodSandbox is refused with that message, naming the file",
          b.refused.includes("cni plugin not initialized") && b.refused.includes(file),
          `… cni plugin not initialized (… ${BROKEN} …)`,
          b.refused,
        );
        ctx.expectThat(
          "libcni's lookup by name stops at the broken file too",
          b.libcni.includes(file),
          `an error naming ${BROKEN}`,
          b.libcni,
        );
        ctx.expect("with the broken file removed, the node's network is ready", b.readyAfter, true);
        return Promise.resolve();
      },
    },
    {
      title: "Which config does a containerd-style runtime pick, and why?",
      mirrors: "2.1 Integration points, 1. CONFIGURATION: Kubelet reads /etc/cni/net.d/*.conf, *.conflist",
      narration:
        "go-cni lists .conf, .conflist and .json files together in byte-wise order and loads the first " +
        "max_conf_num (default 1). So 10-lab-pods wins and 99-fallback is never read.",
      run(ctx) {
        const s = ctx.state;
        const order = confFiles(s.confDir, [".conf", ".conflist", ".json"]).map((f) =>
          f.slice(s.confDir.length + 1)
        );
        ctx.note(`lexical order: ${order.join(" < ")}`);
        const picked = loadConfDir(s.confDir, { maxConfNum: 1 });
        ctx.note(`picked: ${picked.map((p) => p.name).join(", ")}`);
        return Promise.resolve();
      },
      check(ctx) {
        const s = ctx.state;
        const order = confFiles(s.confDir, [".conf", ".conflist", ".json"]).map((f) =>
          f.slice(s.confDir.length + 1)
        );
        ctx.expect("candidates in byte-wise order, README.txt ignored", order, [
          "10-lab-pods.conflist",
          "99-fallback.conf",
        ]);
        const picked = loadConfDir(s.confDir, { maxConfNum: 1 }).map((p) => p.name);
        ctx.expect("max_conf_num = 1 picks the first valid config", picked, [NETWORK]);
        return Promise.resolve();
      },
    },
    {
      title: "How the plugin binary is found by its type",
      mirrors: "2.1 Integration points, 1. CONFIGURATION: Kubelet finds /opt/cni/bin/<plugin-name>",
      narration:
        "A plugin is found by the config's `type`: the runtime looks for an executable of that name in " +
        "each CNI_PATH directory (containerd's bin_dirs) in order; the first one wins.",
      run(ctx) {
        ctx.note(`type cnilab-bridge → ${findInPath("cnilab-bridge", [ctx.state.binDir])}`);
        return Promise.resolve();
      },
      check(ctx) {
        const s = ctx.state;
        ctx.expect(
          "cnilab-bridge resolves in the bin dir",
          findInPath("cnilab-bridge", [s.binDir]),
          `${s.binDir}/cnilab-bridge`,
        );
        let error = "";
        try {
          findInPath("flannel", [s.binDir]);
        } catch (e) {
          error = e instanceof PluginNotFoundError ? e.message : String(e);
        }
        ctx.expectThat(
          "an unknown type fails, naming the dirs searched",
          error.includes("flannel") && error.includes(s.binDir),
          `an error naming flannel and ${s.binDir}`,
          error || "no error",
        );
        return Promise.resolve();
      },
    },
    {
      title: "Pod created → CRI → CNI ADD → pod has network",
      mirrors: "2.1 Integration points, 3. FLOW: Pod Created → Kubelet → CRI → CNI ADD → Pod has network",
      narration:
        "The kubelet's RunPodSandbox goes to the CRI runtime, which pins a cni-<uuid> namespace, calls CNI " +
        "ADD (cni-loopback on lo, then the picked network on eth0) and then starts pause in it. The recorder " +
        "shows what each plugin received; the bridge's result is shown beside what the kernel reports, and " +
        "what cnilab-bridge asked the kernel (rtnetlink, from the plugin's own process) beside the `ip` " +
        "command a person would type for each request.",
      async run(ctx) {
        const s = ctx.state;
        await ctx.owner.record(podUndo(POD));
        s.pod = await runPodSandbox({ name: POD }, choiceOf(s));
        ctx.note(describeCalls(readCalls(s.callsDir)));
        const bridgeAdd = calls(s, "ADD").find((c) => c.type === "cnilab-bridge");
        if (bridgeAdd) ctx.note(describeNetlink(bridgeAdd));
        ctx.note(`the bridge plugin's result (stdout of its ADD):\n${bridgeAdd?.stdout.trim() ?? "none"}`);
        // literal on purpose: the command is shown for the reader, with the JSON the plugin's result matches
        await netns.exec(s.pod.netns.name, ["ip", "-json", "addr", "show", "dev", "eth0"], {
          purpose: "show",
        });
        ctx.note(box("KUBERNETES CNI INTEGRATION", [
          "1. CONFIGURATION",
          `   runtime reads: ${s.confDir}/*.conf, *.conflist, *.json`,
          `   picked:        10-${NETWORK}.conflist (max_conf_num = 1)`,
          `   runtime finds: ${s.binDir}/<type>`,
          "2. KUBELET PARAMETERS",
          "   --network-plugin, --cni-conf-dir, --cni-bin-dir: removed in 1.24",
          `   (containerd's ${s.toml} names the dirs)`,
          "3. FLOW",
          `   Pod ${POD} → RunPodSandbox → CNI ADD → ${s.pod.status?.ip} on eth0`,
        ]));
      },
      async check(ctx) {
        const s = ctx.state;
        const pod = s.pod!;
        const ns = pod.netns.name;
        const eth0 = (await addr.list({ netns: ns, dev: "eth0", family: 4 })).map((a) => a.cidr);
        ctx.expect("eth0 inside the pod has the address ADD returned", eth0, pod.status?.ips);
        ctx.expectThat(
          "the address is from the picked network's subnet",
          (pod.status?.ip ?? "").startsWith(s.subnet!.cidr.split(".").slice(0, 3).join(".") + "."),
          s.subnet!.cidr,
          pod.status?.ip ?? "none",
        );
        const ping = await run(["ping", "-c", "1", "-W", "1", pod.status?.ip ?? "0.0.0.0"], {
          check: false,
          purpose: "read",
        });
        ctx.expect(`host → pod: ping ${pod.status?.ip}`, ping.code === 0 ? "reply" : "no reply", "reply");
        // the same ping followed hop by hop: the bridge, the pod's veth, its eth0, which answers ARP
        const port = (await link.list()).find((l) => l.master === BRIDGE)?.name;
        await checkTrace(
          ctx,
          { ns: "host", name: "host" },
          { ns, name: POD, address: pod.status?.ip ?? "" },
          [
            `host/${BRIDGE}`,
            `host/${port}`,
            `${POD}/eth0`,
          ],
        );
        const adds = calls(s, "ADD");
        const asked = adds.find((c) => c.type === "cnilab-bridge")?.netlink ?? [];
        ctx.expectThat(
          "the bridge ADD created the veth itself, its peer eth0 directly in the pod's namespace",
          asked.some((l) => /^RTM_NEWLINK veth veth\S+ .*peer eth0 .*in netns fd \d+ → ok$/.test(l)),
          "RTM_NEWLINK veth vethXXXXXXXX ... peer eth0 ... in netns fd N → ok",
          asked.find((l) => l.includes("RTM_NEWLINK veth")) ?? `${asked.length} requests recorded`,
        );
        ctx.expect(
          "ADD calls, in order: loopback on lo, bridge on eth0, which delegates to host-local",
          adds.map((c) => `${c.type}/${c.ifname}`),
          ["loopback/lo", "cnilab-bridge/eth0", "cnilab-host-local/eth0"],
        );
        ctx.expect(
          "every call got the pinned namespace as CNI_NETNS",
          [...new Set(adds.map((c) => c.netns))],
          [pod.netns.path],
        );
        ctx.expect("every call got the sandbox ID as CNI_CONTAINERID", [
          ...new Set(adds.map((c) => c.containerId)),
        ], [pod.id]);
        ctx.expectThat(
          "CNI_ARGS carry containerd's pod labels",
          adds.every((c) => c.args.includes(`K8S_POD_NAME=${POD}`) && c.args.startsWith("IgnoreUnknown=1")),
          `IgnoreUnknown=1;…;K8S_POD_NAME=${POD};…`,
          adds[1]?.args ?? "",
        );
        const bridgeCall = adds.find((c) => c.type === "cnilab-bridge");
        ctx.expect("the bridge plugin's stdin names the picked network", bridgeCall?.stdin.name, NETWORK);
        ctx.expect(
          "CNI_PATH is config.toml's bin_dirs (no kubelet --cni-bin-dir)",
          [...new Set(adds.map((c) => c.path))],
          [s.binDir],
        );
        // the real plugin's result against what the kernel reports (the result 2.5 builds by hand)
        let result: {
          interfaces?: { name: string; mac?: string; sandbox?: string }[];
          ips?: { address: string }[];
        } = {};
        try {
          result = JSON.parse(bridgeCall?.stdout ?? "{}");
        } catch { /* reported below */ }
        const podIf = result.interfaces?.find((i) => i.sandbox);
        const kernel = await link.get("eth0", { netns: ns });
        ctx.expect(
          "the bridge's result: eth0 in the pod's namespace, its MAC and address as the kernel reports",
          [podIf?.name, podIf?.sandbox, podIf?.mac, result.ips?.map((i) => i.address)],
          ["eth0", pod.netns.path, kernel?.mac, eth0],
        );
        s.hostVeth = (await link.list()).find((l) => l.master === BRIDGE)?.name;
        ctx.expectThat(
          "a host veth is plugged into the bridge",
          s.hostVeth !== undefined,
          "a port of " + BRIDGE,
          s.hostVeth ?? "none",
        );
      },
    },
    {
      title: "Pod deleted → StopPodSandbox, RemovePodSandbox → CNI DEL, twice",
      mirrors: "2.1 Integration points, 3. FLOW: Pod Deleted → Kubelet → CRI → CNI DEL → Network cleaned up",
      narration:
        "The kubelet calls StopPodSandbox, then RemovePodSandbox. Stop kills pause and calls CNI DEL with " +
        "the namespace path and the cached ADD result as prevResult (cni-loopback is 0.3.1: no prevResult), " +
        "then removes the pinned namespace. Remove stops the sandbox again: a second DEL with CNI_NETNS empty and " +
        "no prevResult. That second DEL is why the spec requires DEL to succeed when things are already gone.",
      deletes: true,
      async run(ctx) {
        const s = ctx.state;
        await stopPodSandbox(s.pod!.id);
        s.stopDels = calls(s, "DEL").length;
        s.netnsAfterStop = await netns.exists(s.pod!.netns.name);
        await removePodSandbox(s.pod!.id);
        await ctx.owner.forget(podUndo(POD));
        ctx.note(describeCalls(calls(s, "DEL")));
        const recorded = callSequence(readCalls(s.callsDir));
        ctx.sequence("The calls the recorder wrote down", recorded.participants, recorded.messages);
      },
      async check(ctx) {
        const s = ctx.state;
        const dels = calls(s, "DEL");
        const [atStop, atRemove] = [dels.slice(0, s.stopDels), dels.slice(s.stopDels)];
        const order = ["loopback/lo", "cnilab-bridge/eth0", "cnilab-host-local/eth0"];
        ctx.expect(
          "StopPodSandbox's DEL calls, in order: loopback on lo, then bridge on eth0 (which delegates to host-local)",
          atStop.map((c) => `${c.type}/${c.ifname}`),
          order,
        );
        const stopBridge = atStop.find((c) => c.type === "cnilab-bridge");
        ctx.expect(
          "StopPodSandbox's DEL got the namespace path and the cached ADD result as prevResult",
          [stopBridge?.netns, "prevResult" in (stopBridge?.stdin ?? {})],
          [s.pod!.netns.path, true],
        );
        ctx.expect("StopPodSandbox removed the pinned namespace", s.netnsAfterStop, false);
        ctx.expect(
          "RemovePodSandbox ran DEL again: CNI_NETNS empty, no prevResult, and it succeeded",
          atRemove.map((c) =>
            `${c.type}/${c.ifname} netns=${c.netns} prevResult=${"prevResult" in c.stdin} exit ${c.exitCode}`
          ),
          order.map((o) => `${o} netns= prevResult=false exit 0`),
        );
        ctx.expect("the host veth is gone", s.hostVeth ? await link.get(s.hostVeth) : undefined, undefined);
        const reserved = existsSync(`${s.dataDir}/${NETWORK}`)
          ? readdirSync(`${s.dataDir}/${NETWORK}`).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f))
          : [];
        ctx.expect("host-local holds no reservation", reserved, []);
        const cache = existsSync(`${s.dir}/cache/results`) ? readdirSync(`${s.dir}/cache/results`) : [];
        ctx.expect("the runtime's result cache is empty", cache, []);
      },
    },
  ],

  explore(ctx) {
    const s = ctx.state;
    return [
      `ls ${s.confDir} ${s.binDir}`,
      `ls ${s.callsDir}   # one directory per plugin call: env, stdin, stdout`,
      `cnilab pod ls`,
      `ip netns exec ${s.pod?.netns.name ?? "cni-…"} ip addr`,
      "cnilab clean",
    ];
  },
};
