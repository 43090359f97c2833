/**
 * `cnilab doctor`: checks that this machine can run the labs, and says exactly how to fix what is missing.
 * @module
 */
import { existsSync, readFileSync } from "node:fs";
import process from "node:process";
import { parseArgs } from "./args.ts";
import { table } from "./table.ts";
import { batch, commands, ipArgv, link, netns } from "../iproute2/mod.ts";
import { Owner } from "../ownership/mod.ts";
import { run, which } from "../shell/mod.ts";
import { type Command, Exit } from "./command.ts";
import { CNILAB_NAMES as PLUGINS, PLUGIN_DIR, REPO_ROOT } from "../util/mod.ts";
import { effectiveCaps, LAB_TOOLS } from "./env.ts";

interface Finding {
  check: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split("\n")[0];
}

async function version(argv: string[]): Promise<string> {
  const r = await run(argv, { check: false, purpose: "read" });
  return (r.stdout + r.stderr).split("\n")[0].trim();
}

/** Tries the kernel features the labs need inside a scratch namespace, so the host itself is not touched. */
async function kernelFeatures(): Promise<Finding[]> {
  const owner = await Owner.begin("test", "doctor");
  const ns = `cnilab-doctor-${owner.id}`;
  const found: Finding[] = [];
  try {
    try {
      await owner.createNetns(ns);
      found.push({ check: "kernel: network namespaces", ok: true, detail: "created and removed one" });
    } catch (e) {
      found.push({
        check: "kernel: network namespaces",
        ok: false,
        detail: String(e instanceof Error ? e.message : e),
        fix: "use a kernel with CONFIG_NET_NS (any distribution kernel) and run as root",
      });
      return found;
    }
    for (
      const [feature, cmd, module] of [
        ["veth", commands.vethAdd("dv0", "dv1"), "veth"],
        ["bridge", commands.bridgeAdd("db0"), "bridge"],
      ] as const
    ) {
      try {
        await batch([cmd], { netns: ns });
        found.push({ check: `kernel: ${feature}`, ok: true, detail: "created one in a scratch namespace" });
      } catch (e) {
        found.push({
          check: `kernel: ${feature}`,
          ok: false,
          detail: String(e instanceof Error ? e.message : e),
          fix: `modprobe ${module}`,
        });
      }
    }
    try {
      const lo = await link.get("lo", { netns: ns });
      found.push({
        check: "iproute2: -json output",
        ok: lo?.name === "lo",
        detail: lo ? "parsed" : "not parsed",
      });
    } catch (e) {
      found.push({
        check: "iproute2: ip -n NAME",
        ok: false,
        detail: firstLine(e),
        fix: "run on a VM or a privileged container where 'ip netns exec' can mount",
      });
    }
  } finally {
    await owner.release().catch(() => []);
    if (await netns.exists(ns).catch(() => false)) await netns.del(ns).catch(() => {});
  }
  return found;
}

/** `cnilab doctor` */
export const doctor: Command = {
  name: "doctor",
  summary: "check root, kernel features and tools; say what is missing and how to fix it",
  usage: `usage: cnilab doctor [--json]

Checks that this machine can run the labs: root (CAP_NET_ADMIN, CAP_SYS_ADMIN),
kernel features (network namespaces, veth, bridge — tried in a scratch
namespace), the tools the labs run and their versions, and the reference CNI
plugins. Each problem comes with the one command that fixes it.
exit codes: 0 ready, 2 something is missing.`,
  async run(argv) {
    const { values } = parseArgs({ args: argv, options: { json: { type: "boolean" } } });
    const findings: Finding[] = [];
    const caps = effectiveCaps();
    const root = process.getuid?.() === 0;
    findings.push({
      check: "root / CAP_NET_ADMIN + CAP_SYS_ADMIN",
      ok: caps.CAP_NET_ADMIN && caps.CAP_SYS_ADMIN,
      detail: `uid ${process.getuid?.()}, CAP_NET_ADMIN ${caps.CAP_NET_ADMIN ? "yes" : "no"}, CAP_SYS_ADMIN ${
        caps.CAP_SYS_ADMIN ? "yes" : "no"
      }`,
      fix: root ? "run in a VM or a privileged container" : "run as root: sudo cnilab …",
    });
    for (const tool of LAB_TOOLS) {
      const path = which(tool.name);
      const ver = path
        ? await version(
          tool.name === "ip"
            ? ipArgv(["-V"])
            : tool.name === "busybox"
            ? ["busybox"]
            : tool.name === "ping"
            ? ["ping", "-V"]
            : tool.name === "catatonit"
            ? ["catatonit", "-V"]
            : [tool.name, "--version"],
        )
        : "";
      findings.push({
        check: `tool: ${tool.name} (${tool.why})`,
        ok: path !== undefined,
        detail: path ? `${path}: ${ver.slice(0, 60)}` : "not found",
        fix: `apt-get install -y ${tool.pkg}`,
      });
    }
    const ipt = which("iptables") ? await version(["iptables", "-V"]) : "not found";
    findings.push({
      check: "tool: iptables, nf_tables backend (ipMasq)",
      ok: ipt.includes("nf_tables"),
      detail: ipt,
      fix: ipt === "not found"
        ? "apt-get install -y iptables"
        : "update-alternatives --set iptables /usr/sbin/iptables-nft",
    });
    const built = PLUGINS.every((p) => existsSync(`${PLUGIN_DIR}/${p}`));
    findings.push({
      check: "cnilab's CNI plugins (labs 2.1-2.4)",
      ok: built,
      detail: built ? `${PLUGINS.join(", ")} in ${PLUGIN_DIR}` : `not built in ${PLUGIN_DIR}`,
      fix: `npm run build (in ${REPO_ROOT})`,
    });
    const ref = existsSync("/usr/lib/cni/bridge") && existsSync("/usr/lib/cni/host-local");
    findings.push({
      check: "reference CNI plugins (/usr/lib/cni)",
      ok: ref,
      detail: ref ? "bridge, host-local, loopback present" : "missing",
      fix: "apt-get install -y containernetworking-plugins",
    });
    if (caps.CAP_NET_ADMIN && caps.CAP_SYS_ADMIN && which("ip")) {
      // a probe that fails in an unexpected way (a chroot, a locked-down container) is a ✗ row too
      try {
        findings.push(...await kernelFeatures());
      } catch (e) {
        findings.push({
          check: "kernel: scratch namespace probe",
          ok: false,
          detail: firstLine(e),
          fix: "run on a VM or a privileged container (not a chroot)",
        });
      }
    }
    const fwd = readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim();
    findings.push({
      check: "host: net.ipv4.ip_forward",
      ok: true,
      detail: `${fwd} (labs restore what they change)`,
    });

    const ok = findings.every((f) => f.ok);
    if (values.json) {
      console.log(JSON.stringify({ ok, findings }, null, 2));
    } else {
      console.log(table(
        ["", "CHECK", "FOUND"],
        findings.map((f) => [f.ok ? "✓" : "✗", f.check, f.ok ? f.detail : `${f.detail}; fix: ${f.fix}`]),
        { flex: 2, gap: 2 },
      ));
      console.log(
        ok
          ? "ready: every lab can run here"
          : "not ready: apply the fixes above, then run 'cnilab doctor' again",
      );
    }
    return ok ? Exit.Ok : Exit.NotReady;
  },
};
