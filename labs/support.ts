/**
 * What several labs need: a free subnet, the lab's own directory, a marked bridge, cnilab's plugin
 * executables, and a recorder that writes down every plugin call the runtime makes.
 * @module
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { Address4 } from "ip-address";
import { addr, batch, commands, route } from "../lib/iproute2/mod.ts";
import { ipEquivalent } from "../lib/netlink/mod.ts";
import { type LabContext, LabNotReady } from "../lib/lab/mod.ts";
import { guardSysctl, type Owned, STATE_DIR } from "../lib/ownership/mod.ts";
import { displayWidth, padEnd, terminalWidth, wrap } from "../lib/text/mod.ts";
import { CNILAB_NAMES, PLUGIN_DIR, REPO_ROOT } from "../lib/util/mod.ts";

/** The repository root, where `npm run build` puts the plugins, and cnilab's plugin types (lib/util). */
export { PLUGIN_DIR, REPO_ROOT };
export const PLUGINS = CNILAB_NAMES;

/** A /24 for a lab: its CIDR, the gateway (.1) and the n-th host address. */
export interface Subnet {
  cidr: string;
  gateway: string;
  prefix: number;
  host(n: number): string;
}

/** The first 10.250.N.0/24 that overlaps no address or route on the host. */
export async function freeSubnet(): Promise<Subnet> {
  return (await freeSubnets(1))[0];
}

/** The first `count` 10.250.N.0/24 subnets that overlap no address or route on the host. */
export async function freeSubnets(count: number): Promise<Subnet[]> {
  const found: Subnet[] = [];
  const used = [
    ...(await addr.list({ family: 4 })).map((a) => a.cidr),
    ...(await route.list({ family: 4 })).map((r) => r.dst).filter((d) => d !== "default"),
  ].map((c) => new Address4(c.includes("/") ? c : `${c}/32`));
  for (let n = 0; n < 256; n++) {
    const candidate = new Address4(`10.250.${n}.0/24`);
    if (used.some((u) => u.isInSubnet(candidate) || candidate.isInSubnet(u))) continue;
    const base = candidate.startAddress().bigInt();
    const at = (i: number) => Address4.fromBigInt(base + BigInt(i)).correctForm();
    found.push({ cidr: `10.250.${n}.0/24`, gateway: at(1), prefix: 24, host: at });
    if (found.length === count) return found;
  }
  throw new LabNotReady("no free /24 in 10.250.0.0/16 on this host (every one overlaps a route or address)");
}

/** The lab run's own directory under /run/cnilab (removed whole at teardown). */
export async function labDir<S>(ctx: LabContext<S>): Promise<string> {
  const dir = `${STATE_DIR}/lab-${ctx.owner.id}`;
  if (!existsSync(dir)) {
    await ctx.owner.mkdir(STATE_DIR);
    await ctx.owner.record({ kind: "path", path: dir, tree: true });
    mkdirSync(dir);
  }
  return dir;
}

/**
 * What removes a pod the lab started if the lab stops early (a failed check, Ctrl-C, kill -9 then
 * `cnilab clean`): `cnilab pod rm`. The lab forgets it once its own deletion step removed the pod.
 */
export function podUndo(name: string): Owned {
  return { kind: "undo", what: `pod ${name}`, argv: [`${REPO_ROOT}/bin/cnilab`, "pod", "rm", name] };
}

/** Refuses to run without cnilab's plugin executables. */
export function requirePlugins(): void {
  const missing = PLUGINS.filter((p) => !existsSync(`${PLUGIN_DIR}/${p}`));
  if (missing.length) {
    throw new LabNotReady(`${missing.join(", ")} not built: run 'npm run build' in ${REPO_ROOT}`);
  }
}

/**
 * Creates a bridge marked as this lab's. A bridge plugin would create it on the first ADD; making it first
 * lets `cnilab clean` tell it from a bridge someone else made (the plugin adopts an existing bridge). The
 * plugin, as a gateway, turns on ip_forward: its value is recorded so teardown restores it.
 */
export async function markedBridge<S>(ctx: LabContext<S>, name: string): Promise<void> {
  await ctx.owner.record({ kind: "link", name });
  await batch([commands.bridgeAdd(name), commands.linkAlias(name, ctx.owner.mark), commands.linkUp(name)]);
  await guardSysctl(ctx.owner, "net.ipv4.ip_forward");
}

/** A conflist for cnilab's bridge + host-local: the network every lab's pods use. */
export function bridgeConflist(
  name: string,
  bridge: string,
  subnet: Subnet,
  dataDir: string,
  opts: { defaultGateway?: boolean } = {},
): string {
  return JSON.stringify(
    {
      cniVersion: "1.1.0",
      name,
      plugins: [{
        type: "cnilab-bridge",
        bridge,
        isGateway: true,
        ...(opts.defaultGateway ? { isDefaultGateway: true } : {}),
        ipam: {
          type: "cnilab-host-local",
          ranges: [[{ subnet: subnet.cidr, gateway: subnet.gateway }]],
          dataDir,
        },
      }],
    },
    null,
    2,
  );
}

/**
 * The bin dir labs use: cnilab's plugins by their own types, and `loopback` too, because go-cni's
 * `cni-loopback` network (which containerd attaches to every pod) names type "loopback"; cnilab-loopback
 * is a drop-in for it.
 */
export const DEFAULT_PLUGINS: Record<string, string> = {
  "cnilab-bridge": `${PLUGIN_DIR}/cnilab-bridge`,
  "cnilab-host-local": `${PLUGIN_DIR}/cnilab-host-local`,
  "loopback": `${PLUGIN_DIR}/cnilab-loopback`,
};

/** One plugin call as the recorder wrote it down. */
export interface PluginCall {
  type: string;
  command: string;
  containerId: string;
  netns: string;
  ifname: string;
  args: string;
  path: string;
  /** The config the runtime wrote on the plugin's stdin. */
  stdin: Record<string, unknown>;
  /** What the plugin printed (its result or error). */
  stdout: string;
  /** What a cnilab plugin asked the kernel (CNILAB_NETLINK_TRACE): one line per request and answer. */
  netlink: string[];
  exitCode: number;
  /** Wall-clock start and end, in ns. */
  start: number;
  end: number;
  /** PIDs in CNI_NETNS when the plugin was called (`ip netns pids`); undefined when that could not be read. */
  netnsPids?: number[];
}

/**
 * Puts a recorder in front of each plugin: a tiny executable with the plugin's name that writes down the
 * CNI_* environment and stdin of every call, then runs the real plugin with CNILAB_NETLINK_TRACE set, so
 * a cnilab plugin also writes down every rtnetlink request it made and the kernel's answer. Runtimes find
 * it along CNI_PATH like any plugin, so this is exactly what the runtime passes.
 */
export async function recordingBinDir<S>(
  ctx: LabContext<S>,
  dir: string,
  plugins: Record<string, string> = DEFAULT_PLUGINS,
): Promise<{ binDir: string; callsDir: string }> {
  const binDir = `${dir}/bin`;
  const callsDir = `${dir}/calls`;
  await ctx.owner.mkdir(binDir);
  await ctx.owner.mkdir(callsDir);
  for (const [type, real] of Object.entries(plugins)) {
    const script = `#!/bin/sh
# cnilab lab recorder: write down what the runtime passed, then run the real plugin
d=${callsDir}/$(date +%s%N)-$$
mkdir "$d" && date +%s%N > "$d/start"
echo ${type} > "$d/type"
env | grep '^CNI_' > "$d/env"
# which processes live in the pod's namespace during this call (containerd starts pause only after ADD)
if [ -n "$CNI_NETNS" ]; then
  PATH="$PATH:/usr/sbin:/sbin" ip netns pids "$(basename "$CNI_NETNS")" > "$d/netns-pids" 2>/dev/null
  echo $? > "$d/netns-pids-exit"
fi
tee "$d/stdin" | CNILAB_NETLINK_TRACE="$d/netlink" ${real} "$@" > "$d/stdout"
rc=$?
echo $rc > "$d/exit"; date +%s%N > "$d/end"
cat "$d/stdout"
exit $rc
`;
    await ctx.owner.writeFile(`${binDir}/${type}`, script, 0o755);
    chmodSync(`${binDir}/${type}`, 0o755);
  }
  return { binDir, callsDir };
}

/** Reads the recorded calls, oldest first. */
export function readCalls(callsDir: string): PluginCall[] {
  if (!existsSync(callsDir)) return [];
  const calls: PluginCall[] = [];
  for (const entry of readdirSync(callsDir).sort()) {
    const d = `${callsDir}/${entry}`;
    const read = (f: string) => {
      try {
        return readFileSync(`${d}/${f}`, "utf8");
      } catch {
        return "";
      }
    };
    const env = Object.fromEntries(
      read("env").split("\n").filter(Boolean).map((
        l,
      ) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
    );
    let stdin: Record<string, unknown> = {};
    try {
      stdin = JSON.parse(read("stdin"));
    } catch {
      // a call still being written
    }
    calls.push({
      type: read("type").trim(),
      command: env.CNI_COMMAND ?? "",
      containerId: env.CNI_CONTAINERID ?? "",
      netns: env.CNI_NETNS ?? "",
      ifname: env.CNI_IFNAME ?? "",
      args: env.CNI_ARGS ?? "",
      path: env.CNI_PATH ?? "",
      stdin,
      stdout: read("stdout"),
      netlink: read("netlink").split("\n").filter(Boolean),
      exitCode: Number(read("exit").trim() || "-1"),
      start: Number(read("start").trim() || "0"),
      end: Number(read("end").trim() || "0"),
      netnsPids: read("netns-pids-exit").trim() === "0"
        ? read("netns-pids").split("\n").filter(Boolean).map(Number)
        : undefined,
    });
  }
  return calls.sort((a, b) => a.start - b.start);
}

/** One line per call, for narration: "ADD cnilab-bridge eth0 netns=cni-1a2b3c4d… prev: yes exit 0". */
export function describeCalls(calls: PluginCall[]): string {
  // a pod's netns path is long (cni-<uuid>): its first 8 hex digits name it well enough here
  const netnsName = (p: string) =>
    p ? p.replace(/^.*\//, "").replace(/^(cni-[0-9a-f]{8})-[0-9a-f-]+$/, "$1…") : "-";
  return calls.map((c) =>
    `${c.command.padEnd(5)} ${c.type.padEnd(17)} ${c.ifname.padEnd(4)} netns=${netnsName(c.netns)}  prev: ${
      "prevResult" in c.stdin ? "yes" : "no"
    }  exit ${c.exitCode}`
  ).join("\n");
}

/**
 * A plugin call's rtnetlink conversation, each request (and the kernel's answer) above the `ip` command a
 * person would type for the same effect: what the kernel was really asked.
 */
export function describeNetlink(call: PluginCall): string {
  const ns = call.netns.split("/").pop() ?? call.netns;
  const lines = [
    `${call.type} ${call.command} asked the kernel (rtnetlink), and the \`ip\` for each request:`,
  ];
  for (const l of call.netlink) {
    lines.push(...wrap(l, terminalWidth() - 4, "", "      ").split("\n"));
    const cmd = ipEquivalent(l, ns);
    if (cmd) lines.push(...wrap(`$ ${cmd}`, terminalWidth() - 4, "    ", "        ").split("\n"));
  }
  return lines.join("\n");
}

/**
 * Draws one of the chapter's boxes, filled with live values, to fit `width` columns (default: the
 * terminal's, less the narration's indent): long lines wrap inside the box; narrower than a box can usefully be, it is a list instead.
 */
export function box(title: string, lines: string[], width = terminalWidth() - 2): string {
  const avail = width - 4; // "│ " and " │"
  if (avail < 32) return [`${title}:`, ...lines.map((l) => wrap(l, width, "  ", "    "))].join("\n");
  const wrapped = lines.flatMap((l) => wrap(l, avail, "", "  ").split("\n"));
  const inner = Math.min(avail, Math.max(displayWidth(title) + 4, ...wrapped.map(displayWidth)) + 2);
  const head = ` ${title} `;
  const left = Math.max(0, Math.floor((inner - displayWidth(head)) / 2));
  return [
    `┌${"─".repeat(inner + 2)}┐`,
    `│ ${padEnd(" ".repeat(left) + head, inner)} │`,
    `├${"─".repeat(inner + 2)}┤`,
    ...wrapped.map((l) => `│ ${padEnd(l, inner)} │`),
    `└${"─".repeat(inner + 2)}┘`,
  ].join("\n");
}

/** What the kubelet asked the runtime for, by the CNI command the runtime then ran. */
const CRI_REQUEST: Record<string, string> = {
  ADD: "RunPodSandbox",
  DEL: "StopPodSandbox",
  CHECK: "PodSandboxStatus",
  STATUS: "Status",
  GC: "(garbage collection)",
};

/** A plugin's answer in a few words: the addresses of an ADD result, "ok", or its CNI error. */
function answer(c: PluginCall): string {
  try {
    const out = JSON.parse(c.stdout || "{}") as { ips?: { address: string }[]; code?: number; msg?: string };
    if (c.exitCode !== 0) return `exit ${c.exitCode}: error ${out.code ?? "?"} ${out.msg ?? ""}`.trim();
    if (out.ips?.length) return `result: ${out.ips.map((ip) => ip.address).join(", ")}`;
  } catch {
    if (c.exitCode !== 0) return `exit ${c.exitCode}`;
  }
  return c.exitCode === 0 ? "ok" : `exit ${c.exitCode}`;
}

/**
 * The recorded plugin calls as a sequence: kubelet → CRI runtime (the request that caused them), runtime →
 * plugin (CNI_COMMAND and ifname), plugin → its IPAM plugin when it delegated (a call that ran inside
 * another's window), and each answer back.
 */
export function callSequence(calls: PluginCall[], runtime = "CRI runtime"): {
  participants: string[];
  messages: { from: string; to: string; text: string; reply?: boolean }[];
} {
  const participants = ["kubelet", runtime, ...new Set(calls.map((c) => c.type))];
  const messages: { from: string; to: string; text: string; reply?: boolean }[] = [];
  const caller = (c: PluginCall) =>
    calls.find((o) => o !== c && o.type !== c.type && o.start <= c.start && c.end <= o.end)?.type ?? runtime;
  let request = "";
  const open: { call: PluginCall; from: string }[] = [];
  const closeUntil = (t: number) => {
    // answers come back in the order the calls end
    while (open.length && open.at(-1)!.call.end <= t) {
      const { call, from } = open.pop()!;
      messages.push({ from: call.type, to: from, text: answer(call), reply: true });
    }
  };
  for (const c of calls) {
    closeUntil(c.start);
    const from = caller(c);
    // a DEL without a namespace is RemovePodSandbox stopping the sandbox a second time
    const asked = c.command === "DEL" && !c.netns ? "RemovePodSandbox" : CRI_REQUEST[c.command];
    if (from === runtime && open.length === 0 && asked && asked !== request) {
      request = asked;
      messages.push({ from: "kubelet", to: runtime, text: request });
    }
    messages.push({ from, to: c.type, text: `CNI_COMMAND=${c.command} CNI_IFNAME=${c.ifname || "-"}` });
    open.push({ call: c, from });
  }
  closeUntil(Infinity);
  return { participants, messages };
}
