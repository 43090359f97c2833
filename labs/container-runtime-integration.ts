/**
 * Lab 2.3 "Container Runtime Integration": containerd's config.toml CNI section from the chapter, read and
 * honoured (bin_dir, conf_dir, max_conf_num, conf_template), and an experiment that checks the chapter's
 * comment on max_conf_num ("Maximum number of concurrent CNI calls") against what containerd does.
 * @module
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { addr, link } from "../lib/iproute2/mod.ts";
import type { Lab, LabContext } from "../lib/lab/mod.ts";
import { CollisionError } from "../lib/ownership/mod.ts";
import {
  applyConfTemplate,
  type ContainerdCniSettings,
  readContainerdConfig,
  toNetworkOptions,
} from "../lib/runtime/mod.ts";
import { TEMPLATE_CONF_NAME } from "../lib/runtime/containerd.ts";
import { removePodSandbox, runPodSandbox, type SandboxState } from "../lib/sandbox/mod.ts";
import { run } from "../lib/shell/mod.ts";
import {
  bridgeConflist,
  freeSubnets,
  labDir,
  markedBridge,
  podUndo,
  readCalls,
  recordingBinDir,
  requirePlugins,
  type Subnet,
} from "./support.ts";

const BRIDGES = { a: "cnilab23a", b: "cnilab23b", t: "cnilab23t" } as const;
const CONCURRENT = 4;

interface State {
  dir: string;
  binDir: string;
  callsDir: string;
  subnets: Subnet[];
  toml: string;
  settings?: ContainerdCniSettings;
  pods: SandboxState[];
  overlap: number;
}

/** The chapter's section, with this lab's directories. */
function configToml(binDir: string, confDir: string, maxConfNum: number, template = ""): string {
  return `# containerd config.toml CNI section (the chapter's, pointed at this lab's directories)
version = 2

[plugins."io.containerd.grpc.v1.cri".cni]
  # CNI binary directory
  bin_dir = "${binDir}"

  # CNI configuration directory
  conf_dir = "${confDir}"

  # Maximum number of concurrent CNI calls
  max_conf_num = ${maxConfNum}

  # CNI configuration file template
  conf_template = "${template}"
`;
}

/** Reads config.toml like containerd and runs a pod with what it says. */
async function podFromConfig(ctx: LabContext<State>, name: string): Promise<SandboxState> {
  const s = ctx.state;
  s.settings = readContainerdConfig(s.toml);
  const opts = toNetworkOptions(s.settings);
  await ctx.owner.record(podUndo(name));
  const pod = await runPodSandbox(
    { name },
    { confDir: opts.confDir, binDirs: opts.binDirs, maxConfNum: opts.maxConfNum, cacheDir: `${s.dir}/cache` },
  );
  s.pods.push(pod);
  return pod;
}

async function interfaces(pod: SandboxState): Promise<string[]> {
  return (await addr.list({ netns: pod.netns.name, family: 4 })).filter((a) => a.dev !== "lo").map((a) =>
    `${a.dev} ${a.cidr}`
  ).sort();
}

function inSubnet(cidr: string, subnet: Subnet): boolean {
  return cidr.startsWith(subnet.cidr.split(".").slice(0, 3).join(".") + ".");
}

/** The most calls that were running at the same moment. */
function maxOverlap(spans: { start: number; end: number }[]): number {
  const events = spans.flatMap((c) => [[c.start, 1], [c.end, -1]] as const).sort((a, b) =>
    a[0] - b[0] || a[1] - b[1]
  );
  let now = 0;
  let max = 0;
  for (const [, d] of events) max = Math.max(max, now += d);
  return max;
}

/** Lab 2.3. */
export const containerRuntimeIntegration: Lab<State> = {
  id: "container-runtime-integration",
  section: "2.3",
  title: "Container Runtime Integration",
  summary:
    "containerd's config.toml [cni] section read and honoured; what max_conf_num really does; conf_template",
  init: () => ({ dir: "", binDir: "", callsDir: "", subnets: [], toml: "", pods: [], overlap: 0 }),

  async preflight(ctx) {
    requirePlugins();
    for (const b of Object.values(BRIDGES)) if (await link.get(b)) throw new CollisionError(`link ${b}`);
    ctx.state.subnets = await freeSubnets(3);
  },

  steps: [
    {
      title: "containerd's config.toml with the chapter's CNI section",
      mirrors: '2.3 containerd CNI Integration (config.toml [plugins."io.containerd.grpc.v1.cri".cni])',
      narration:
        "containerd's CRI plugin reads bin_dir, conf_dir, max_conf_num and conf_template from this " +
        'table (containerd 2.x moved it to [plugins."io.containerd.cri.v1.runtime".cni]; both are read). ' +
        "The lab writes the chapter's section, pointed at its own directories, and two networks into conf_dir.",
      async run(ctx) {
        const s = ctx.state;
        s.dir = await labDir(ctx);
        ({ binDir: s.binDir, callsDir: s.callsDir } = await recordingBinDir(ctx, s.dir));
        const [a, b] = s.subnets;
        await ctx.writeFile(
          `${s.dir}/net.d/10-net-a.conflist`,
          bridgeConflist("net-a", BRIDGES.a, a, `${s.dir}/ipam`),
        );
        await ctx.writeFile(
          `${s.dir}/net.d/20-net-b.conflist`,
          bridgeConflist("net-b", BRIDGES.b, b, `${s.dir}/ipam`),
        );
        s.toml = `${s.dir}/config.toml`;
        await ctx.owner.writeFile(s.toml, configToml(s.binDir, `${s.dir}/net.d`, 1));
        for (const br of Object.values(BRIDGES)) await markedBridge(ctx, br);
        await run(["cat", s.toml], { purpose: "show" });
        s.settings = readContainerdConfig(s.toml);
        ctx.note(`read: ${JSON.stringify({ ...s.settings, file: undefined })}`);
      },
      check(ctx) {
        const s = ctx.state.settings!;
        ctx.expect("section found", s.section, 'plugins."io.containerd.grpc.v1.cri".cni');
        ctx.expect("bin_dir", s.binDirs, [ctx.state.binDir]);
        ctx.expect("conf_dir", s.confDir, `${ctx.state.dir}/net.d`);
        ctx.expect("max_conf_num", s.maxConfNum, 1);
        ctx.expect("conf_template (empty: none)", s.confTemplate, "");
        return Promise.resolve();
      },
    },
    {
      title: "bin_dir and conf_dir honoured: a pod with max_conf_num = 1",
      mirrors: "2.3 containerd CNI Integration: bin_dir, conf_dir",
      narration:
        "A pod started with these settings gets its network from the first config file in conf_dir " +
        "(net-a) and its plugins from bin_dir. max_conf_num = 1: net-b is never loaded.",
      async run(ctx) {
        const pod = await podFromConfig(ctx, "lab23-one");
        ctx.note(`lab23-one: ${(await interfaces(pod)).join(", ")}`);
      },
      async check(ctx) {
        const s = ctx.state;
        const ifs = await interfaces(s.pods[0]);
        ctx.expectThat(
          "the pod has eth0 on net-a only",
          ifs.length === 1 && ifs[0].startsWith("eth0 ") && inSubnet(ifs[0].split(" ")[1], s.subnets[0]),
          `eth0 in ${s.subnets[0].cidr}, nothing else`,
          ifs.join(", "),
        );
        const paths = [
          ...new Set(readCalls(s.callsDir).filter((c) => c.command === "ADD").map((c) => c.path)),
        ];
        ctx.expect("plugins ran from bin_dir (CNI_PATH)", paths, [s.binDir]);
      },
    },
    {
      title: "What max_conf_num really does: 2 loads two networks (eth0, eth1)",
      mirrors: "2.3 containerd CNI Integration: max_conf_num",
      narration:
        "max_conf_num is how many config files containerd loads from conf_dir, in lexical order; each " +
        "becomes one interface of every pod: eth0, eth1, … The lab sets it to 2 and starts another pod.",
      async run(ctx) {
        const s = ctx.state;
        writeFileSync(s.toml, configToml(s.binDir, `${s.dir}/net.d`, 2));
        ctx.fileWritten(s.toml, configToml(s.binDir, `${s.dir}/net.d`, 2));
        const pod = await podFromConfig(ctx, "lab23-two");
        ctx.note(`lab23-two: ${(await interfaces(pod)).join(", ")}`);
      },
      async check(ctx) {
        const s = ctx.state;
        ctx.expect("config.toml now says max_conf_num = 2", s.settings?.maxConfNum, 2);
        const ifs = await interfaces(s.pods[1]);
        ctx.expect("the pod has two interfaces", ifs.map((i) => i.split(" ")[0]), ["eth0", "eth1"]);
        ctx.expectThat(
          "eth0 is on net-a, eth1 on net-b",
          inSubnet(ifs[0]?.split(" ")[1] ?? "", s.subnets[0]) &&
            inSubnet(ifs[1]?.split(" ")[1] ?? "", s.subnets[1]),
          `eth0 in ${s.subnets[0].cidr}, eth1 in ${s.subnets[1].cidr}`,
          ifs.join(", "),
        );
      },
    },
    {
      title: "Is max_conf_num a limit on concurrent CNI calls? An experiment",
      mirrors: '2.3 containerd CNI Integration: "# Maximum number of concurrent CNI calls"',
      narration:
        `The chapter's comment says max_conf_num limits concurrent CNI calls. With max_conf_num = 1, the ` +
        `lab starts ${CONCURRENT} pods at once (as a kubelet does when several pods land on a node) and uses the ` +
        "recorder's timestamps to count how many bridge ADDs ran at the same moment.",
      async run(ctx) {
        const s = ctx.state;
        writeFileSync(s.toml, configToml(s.binDir, `${s.dir}/net.d`, 1));
        ctx.fileWritten(s.toml, configToml(s.binDir, `${s.dir}/net.d`, 1));
        const before = readCalls(s.callsDir).length;
        await Promise.all(Array.from({ length: CONCURRENT }, (_, i) => podFromConfig(ctx, `lab23-c${i}`)));
        const adds = readCalls(s.callsDir).slice(before).filter((c) =>
          c.command === "ADD" && c.type === "cnilab-bridge"
        );
        s.overlap = maxOverlap(adds);
        const t0 = Math.min(...adds.map((c) => c.start));
        ctx.note(
          adds.map((c) =>
            `ADD ${c.containerId.slice(0, 12)}  ${((c.start - t0) / 1e6).toFixed(1)} → ${
              ((c.end - t0) / 1e6).toFixed(1)
            } ms`
          )
            .join("\n") + `\nat most ${s.overlap} bridge ADDs ran at the same time`,
        );
        ctx.note(
          s.overlap > 1
            ? "The chapter's comment is wrong: max_conf_num = 1 did not serialise CNI calls. It is the number of " +
              "network configs loaded (see the step before); containerd has no such concurrency limit."
            : "The ADDs happened not to overlap this time; run the lab again to see them overlap.",
        );
      },
      check(ctx) {
        const s = ctx.state;
        ctx.expect(
          `all ${CONCURRENT} pods got an address`,
          s.pods.slice(2).filter((p) => p.status?.ip).length,
          CONCURRENT,
        );
        ctx.expectThat(
          "with max_conf_num = 1, bridge ADDs still ran concurrently",
          s.overlap > 1,
          "more than 1 at the same time",
          `${s.overlap} at most`,
        );
        return Promise.resolve();
      },
    },
    {
      title: "conf_template: containerd writes the config from the node's pod CIDR",
      mirrors: "2.3 containerd CNI Integration: conf_template",
      narration: "With conf_template set and no usable config in conf_dir, containerd renders the template " +
        "(Go text/template) with the pod CIDR the kubelet reports and writes 10-containerd-net.conflist itself.",
      async run(ctx) {
        const s = ctx.state;
        const podCidr = s.subnets[2].cidr;
        const template = `{
  "cniVersion": "1.1.0",
  "name": "containerd-net",
  "plugins": [{
    "type": "cnilab-bridge",
    "bridge": "${BRIDGES.t}",
    "isGateway": true,
    "ipam": {
      "type": "cnilab-host-local",
      "ranges": [{{range $i, $range := .PodCIDRRanges}}{{if $i}}, {{end}}[{"subnet": "{{$range}}"}]{{end}}],
      "routes": [{{range $i, $route := .Routes}}{{if $i}}, {{end}}{"dst": "{{$route}}"}{{end}}],
      "dataDir": "${s.dir}/ipam"
    }
  }]
}
`;
        await ctx.writeFile(`${s.dir}/template.json`, template);
        await ctx.owner.mkdir(`${s.dir}/net.d-template`);
        writeFileSync(s.toml, configToml(s.binDir, `${s.dir}/net.d-template`, 1, `${s.dir}/template.json`));
        ctx.fileWritten(s.toml, configToml(s.binDir, `${s.dir}/net.d-template`, 1, `${s.dir}/template.json`));
        const settings = readContainerdConfig(s.toml);
        await ctx.owner.record({ kind: "path", path: `${s.dir}/net.d-template/${TEMPLATE_CONF_NAME}` });
        const written = applyConfTemplate(settings, podCidr);
        if (written) await run(["cat", written], { purpose: "show" });
        const pod = await podFromConfig(ctx, "lab23-tmpl");
        ctx.note(`lab23-tmpl: ${(await interfaces(pod)).join(", ")} (pod CIDR ${podCidr})`);
      },
      async check(ctx) {
        const s = ctx.state;
        ctx.expect("containerd wrote 10-containerd-net.conflist", readdirSync(`${s.dir}/net.d-template`), [
          TEMPLATE_CONF_NAME,
        ]);
        const rendered = JSON.parse(readFileSync(`${s.dir}/net.d-template/${TEMPLATE_CONF_NAME}`, "utf8"));
        ctx.expect("the template got the pod CIDR", rendered.plugins[0].ipam.ranges, [[{
          subnet: s.subnets[2].cidr,
        }]]);
        const ifs = await interfaces(s.pods.at(-1)!);
        ctx.expectThat(
          "the pod's eth0 is in the pod CIDR",
          ifs.length === 1 && inSubnet(ifs[0].split(" ")[1], s.subnets[2]),
          `eth0 in ${s.subnets[2].cidr}`,
          ifs.join(", "),
        );
      },
    },
    {
      title: "Remove every pod: CNI DEL for each of their networks",
      mirrors: "2.1 FLOW: Pod Deleted → CNI DEL",
      narration: "Each pod is removed; the pod with two networks gets a DEL for each.",
      deletes: true,
      async run(ctx) {
        for (const pod of ctx.state.pods) {
          await removePodSandbox(pod.id);
          await ctx.owner.forget(podUndo(pod.name));
        }
      },
      async check(ctx) {
        const s = ctx.state;
        const dels = readCalls(s.callsDir).filter((c) => c.command === "DEL" && c.type === "cnilab-bridge");
        ctx.expect("one bridge DEL per pod network", dels.length, s.pods.length + 1);
        const ports = (await link.list()).filter((l) => Object.values(BRIDGES).includes(l.master as never));
        ctx.expect("no veth is left on the lab's bridges", ports.map((p) => p.name), []);
      },
    },
  ],

  explore(ctx) {
    return [
      `cat ${ctx.state.toml}`,
      `ls ${ctx.state.dir}/net.d`,
      "cnilab pod ls",
      "cnilab show --netns cni-",
      "cnilab clean",
    ];
  },
};
