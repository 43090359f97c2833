/**
 * Lab 2.1 "Kubernetes & CNI Integration": the configuration step (a conf dir with several files and a bin
 * dir; which config a containerd-style runtime picks and why; how a plugin binary is found by its type),
 * then the two flows — pod created → CRI → CNI ADD → pod has network, and pod deleted → CNI DEL → network
 * cleaned up — with a recording of exactly what the plugins received.
 * @module
 */
import { existsSync, readdirSync } from "node:fs";
import { addr, link, netns } from "../lib/iproute2/mod.ts";
import type { Lab } from "../lib/lab/mod.ts";
import { CollisionError } from "../lib/ownership/mod.ts";
import { confFiles, findInPath, loadConfDir, PluginNotFoundError } from "../lib/runtime/mod.ts";
import { removePodSandbox, runPodSandbox, type SandboxState } from "../lib/sandbox/mod.ts";
import { run } from "../lib/shell/mod.ts";
import {
  box,
  bridgeConflist,
  describeCalls,
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

const BRIDGE = "cnilab21";
const NETWORK = "lab-pods";
const POD = "lab21-web";

interface State {
  dir: string;
  confDir: string;
  binDir: string;
  callsDir: string;
  dataDir: string;
  subnet?: Subnet;
  warnings: string[];
  pod?: SandboxState;
  hostVeth?: string;
}

function calls(state: State, command: string): PluginCall[] {
  return readCalls(state.callsDir).filter((c) => c.command === command);
}

/** Lab 2.1. */
export const kubernetesCniIntegration: Lab<State> = {
  id: "kubernetes-cni-integration",
  section: "2.1",
  title: "Kubernetes & CNI Integration",
  summary:
    "Conf dir + bin dir: which config the runtime picks and why, plugin lookup by type, ADD and DEL flows recorded",
  init: () => ({ dir: "", confDir: "", binDir: "", callsDir: "", dataDir: "", warnings: [] }),

  async preflight(ctx) {
    requirePlugins();
    if (await link.get(BRIDGE)) throw new CollisionError(`link ${BRIDGE}`);
    ctx.state.subnet = await freeSubnet();
  },

  steps: [
    {
      title: "Configuration: a conf dir with several files, and a bin dir",
      mirrors: "2.1 Integration points, 1. CONFIGURATION (/etc/cni/net.d, /opt/cni/bin)",
      narration:
        "On a node the runtime reads /etc/cni/net.d/*.conf, *.conflist (and *.json) and finds plugins in " +
        "/opt/cni/bin. This lab makes its own pair of directories so it never touches the node's: a broken file " +
        "that sorts first, the network it should pick, and a fallback .conf that sorts last. The bin dir holds " +
        "cnilab's plugins behind a recorder that writes down every call (`loopback` is cnilab-loopback: containerd " +
        "attaches a network of type loopback to every pod).",
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
        await ctx.owner.writeFile(`${s.confDir}/05-broken.conflist`, '{ "cniVersion": "1.0.0", "name": ');
        await ctx.owner.writeFile(
          `${s.confDir}/10-${NETWORK}.conflist`,
          bridgeConflist(NETWORK, BRIDGE, subnet, s.dataDir, { defaultGateway: true }),
        );
        await ctx.owner.writeFile(`${s.confDir}/99-fallback.conf`, JSON.stringify(fallback, null, 2));
        await ctx.owner.writeFile(`${s.confDir}/README.txt`, "not a CNI config: ignored by extension\n");
        ({ binDir: s.binDir, callsDir: s.callsDir } = await recordingBinDir(ctx, s.dir));
        await run(["ls", "-l", s.confDir, s.binDir], { purpose: "show" });
      },
      check(ctx) {
        const s = ctx.state;
        ctx.expect("the conf dir holds four files", readdirSync(s.confDir).sort(), [
          "05-broken.conflist",
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
        return Promise.resolve();
      },
    },
    {
      title: "Which config does a containerd-style runtime pick, and why?",
      mirrors: "2.1 Integration points, 1. CONFIGURATION: Kubelet reads /etc/cni/net.d/*.conf, *.conflist",
      narration:
        "containerd (go-cni) lists .conf, .conflist and .json files together in byte-wise order and loads " +
        "the first max_conf_num (default 1) valid ones. An unparsable file is skipped with a warning — it does " +
        "not stop the node. So 05-broken is skipped, 10-lab-pods wins, 99-fallback is never read.",
      run(ctx) {
        const s = ctx.state;
        const order = confFiles(s.confDir, [".conf", ".conflist", ".json"]).map((f) =>
          f.slice(s.confDir.length + 1)
        );
        ctx.note(`lexical order: ${order.join(" < ")}`);
        const picked = loadConfDir(s.confDir, { maxConfNum: 1, onWarning: (w) => s.warnings.push(w) });
        ctx.note(`warnings: ${s.warnings.join("; ") || "none"}`);
        ctx.note(`picked: ${picked.map((p) => p.name).join(", ")}`);
        return Promise.resolve();
      },
      check(ctx) {
        const s = ctx.state;
        const order = confFiles(s.confDir, [".conf", ".conflist", ".json"]).map((f) =>
          f.slice(s.confDir.length + 1)
        );
        ctx.expect("candidates in byte-wise order, README.txt ignored", order, [
          "05-broken.conflist",
          "10-lab-pods.conflist",
          "99-fallback.conf",
        ]);
        const picked = loadConfDir(s.confDir, { maxConfNum: 1, onWarning: () => {} }).map((p) => p.name);
        ctx.expect("max_conf_num = 1 picks the first valid config", picked, [NETWORK]);
        ctx.expectThat(
          "the broken file was skipped with a warning",
          s.warnings.some((w) => w.includes("05-broken.conflist")),
          "a warning naming 05-broken.conflist",
          s.warnings.join("; ") || "no warning",
        );
        return Promise.resolve();
      },
    },
    {
      title: "How the plugin binary is found by its type",
      mirrors: "2.1 Integration points, 1. CONFIGURATION: Kubelet finds /opt/cni/bin/<plugin-name>",
      narration:
        "A plugin is found by the config's `type`: the runtime looks for an executable of that name in " +
        "each CNI_PATH directory in order; the first one wins. The chapter's kubelet flags --network-plugin=cni, " +
        "--cni-conf-dir and --cni-bin-dir were removed with dockershim in Kubernetes 1.24: today the container " +
        "runtime owns these directories (containerd's [cni] bin_dir and conf_dir, lab 2.3).",
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
        "The kubelet's RunPodSandbox goes to the CRI runtime, which pins a cni-<uuid> namespace, starts " +
        "the pause holder and calls CNI ADD: first cni-loopback on lo, then the picked network on eth0. The " +
        "recorder shows what each plugin received.",
      async run(ctx) {
        const s = ctx.state;
        await markedBridge(ctx, BRIDGE);
        await ctx.owner.record(podUndo(POD));
        s.pod = await runPodSandbox({ name: POD }, {
          confDir: s.confDir,
          binDirs: [s.binDir],
          cacheDir: `${s.dir}/cache`,
        });
        ctx.note(describeCalls(readCalls(s.callsDir)));
        ctx.note(box("KUBERNETES CNI INTEGRATION", [
          "1. CONFIGURATION",
          `   runtime reads: ${s.confDir}/*.conf, *.conflist, *.json`,
          `   picked:        10-${NETWORK}.conflist (max_conf_num = 1)`,
          `   runtime finds: ${s.binDir}/<type>`,
          "2. KUBELET PARAMETERS",
          "   --network-plugin, --cni-conf-dir, --cni-bin-dir: removed in 1.24",
          "   (the container runtime's [cni] settings name the dirs)",
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
        const adds = calls(s, "ADD");
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
          "host-local found through CNI_PATH = the bin dir",
          adds.find((c) => c.type === "cnilab-host-local")?.path,
          s.binDir,
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
      title: "Pod deleted → CRI → CNI DEL → network cleaned up",
      mirrors: "2.1 Integration points, 3. FLOW: Pod Deleted → Kubelet → CRI → CNI DEL → Network cleaned up",
      narration:
        "RemovePodSandbox stops the holder and calls CNI DEL for each network — go-cni walks them in the " +
        "order it added them (lo, then eth0); inside one conflist libcni would DEL the plugins in reverse. DEL gets " +
        "the cached ADD result as prevResult (spec 0.4.0 and later; cni-loopback is 0.3.1). Then the namespace is " +
        "unpinned.",
      deletes: true,
      async run(ctx) {
        await removePodSandbox(ctx.state.pod!.id);
        await ctx.owner.forget(podUndo(POD));
        ctx.note(describeCalls(calls(ctx.state, "DEL")));
      },
      async check(ctx) {
        const s = ctx.state;
        const dels = calls(s, "DEL");
        ctx.expect(
          "DEL calls, in order: loopback on lo, then bridge on eth0 (which delegates to host-local)",
          dels.map((c) => `${c.type}/${c.ifname}`),
          ["loopback/lo", "cnilab-bridge/eth0", "cnilab-host-local/eth0"],
        );
        const bridgeDel = dels.find((c) => c.type === "cnilab-bridge");
        ctx.expect(
          "the bridge's DEL got the cached ADD result as prevResult",
          "prevResult" in (bridgeDel?.stdin ?? {}),
          true,
        );
        ctx.expect("the host veth is gone", s.hostVeth ? await link.get(s.hostVeth) : undefined, undefined);
        ctx.expect("the pod namespace is gone", await netns.exists(s.pod!.netns.name), false);
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
