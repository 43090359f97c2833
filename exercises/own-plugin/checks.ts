/**
 * own-plugin: the attendee's plugin driven through cnilab's runtime exactly as the task shows, in a
 * namespace of the check's own: ADD (result JSON, eth0 with the address inside, an exo… host end), DEL
 * (eth0 and the host end gone, cache gone), DEL again, DEL after the namespace is gone. Everything the check
 * makes (namespace, host ends, cache) it removes again.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { compare } from "../../lib/exercise/checks.ts";
import type { CheckContext, CheckResult } from "../../lib/exercise/checks.ts";
import { addr, link, netns } from "../../lib/iproute2/mod.ts";
import { run } from "../../lib/shell/mod.ts";

const ADDRESS = "10.231.10.2/24";

async function hostEnds(): Promise<string[]> {
  return (await link.list()).map((l) => l.name).filter((n) => n.startsWith("exo"));
}

const RESULTS = "/var/lib/cni/results";

/** libcni's cache files of the network (`<network>-<containerID>-<ifname>`): the check's own is the new one. */
function cacheFiles(): string[] {
  try {
    return readdirSync(RESULTS).filter((f) => f.startsWith("ex-own-") && f.endsWith("-eth0")).map((f) =>
      `${RESULTS}/${f}`
    );
  } catch {
    return [];
  }
}

function said(r: { stdout: string; stderr: string }): string {
  return (r.stderr.trim() || r.stdout.trim()).split("\n").slice(-2).join(" / ") || "nothing";
}

/** The checks this exercise's checks.yaml names. */
export const checks = {
  /**
   * Which plugin the attendee wrote, bash or TypeScript (zx): the kernel runs it by its `#!` line, so that
   * line must name a shell, or cnilab's Bun for TypeScript.
   */
  interpreter(ctx: CheckContext): Promise<CheckResult[]> {
    const file = `${ctx.vars.WORK}/bin/ex-hello`;
    const command = `head -1 ${file}`;
    if (!existsSync(file)) {
      return Promise.resolve([{
        name: "ex-hello's #! line runs it",
        command,
        status: "skip",
        actual: `skipped: ${file} does not exist yet`,
        observed: `waits for ${file}`,
      }]);
    }
    const text = readFileSync(file, "utf8");
    const first = text.split("\n")[0];
    const ts = /^\s*import\s|from\s+["']zx["']/m.test(text);
    const bun = `${ctx.vars.REPO}/node_modules/.bin/bun`;
    const shell = /^#!\s*\/(usr\/)?bin\/(env\s+)?(ba)?sh\b/.test(first);
    const runsTs = first.startsWith("#!") && /\bbun\b|\bdeno\b|\bnode\b/.test(first);
    const name = ts
      ? "ex-hello is TypeScript: its #! line runs it with Bun"
      : "ex-hello's #! line names its shell";
    const ok = ts ? runsTs : shell || runsTs;
    return Promise.resolve([
      ok
        ? {
          name: ts ? "ex-hello is TypeScript (zx), run by Bun" : "ex-hello is a bash plugin",
          command,
          status: "pass",
        }
        : {
          name,
          command,
          status: "fail",
          expected: ts ? `#!${bun}` : "#!/bin/bash",
          actual: first || "an empty file",
          observed: first.startsWith("#!")
            ? `ex-hello's first line is ${first}: the kernel runs it with that`
            : "ex-hello has no #! line: the kernel cannot run it",
          hint: ts ? `make the first line #!${bun}` : "make the first line #!/bin/bash",
        },
    ]);
  },

  async addAndDelete(ctx: CheckContext): Promise<CheckResult[]> {
    const work = ctx.vars.WORK;
    const name = `cni-exo-check-${crypto.randomUUID().slice(0, 8)}`;
    const path = `/var/run/netns/${name}`;
    const env = { NETCONFPATH: `${work}/net.d`, CNI_PATH: `${work}/bin` };
    const cnilab = (op: string) =>
      `NETCONFPATH=${env.NETCONFPATH} CNI_PATH=${env.CNI_PATH} cnilab cni ${op} ex-own ${path}`;
    const cachesBefore = new Set(cacheFiles());
    const newCaches = () => cacheFiles().filter((f) => !cachesBefore.has(f));
    const endsBefore = new Set(await hostEnds());
    const out: CheckResult[] = [];
    await netns.add(name);
    try {
      const add = await run([ctx.vars.CNILAB, "cni", "add", "ex-own", path], {
        env,
        check: false,
        timeoutMs: 30000,
      });
      if (add.code !== 0) {
        out.push({
          name: "ADD through the runtime succeeds",
          command: cnilab("add"),
          status: "fail",
          expected: "exit 0 and the result on stdout",
          actual: `exit ${add.code}: ${said(add)}`,
          observed: `the runtime's ADD exited ${add.code}: ${said(add)}`,
          hint: "run the command yourself; the runtime prints what the plugin said",
        });
        return out;
      }
      out.push({ name: "ADD through the runtime succeeds", command: cnilab("add"), status: "pass" });
      let result: {
        cniVersion?: string;
        interfaces?: { name?: string; sandbox?: string }[];
        ips?: { address?: string; interface?: number }[];
      } = {};
      try {
        result = JSON.parse(add.stdout);
      } catch { /* compared below */ }
      const ip = result.ips?.[0];
      const iface = ip?.interface === undefined ? undefined : result.interfaces?.[ip.interface];
      out.push(compare("the result is CNI 1.0.0", cnilab("add"), result.cniVersion, "1.0.0"));
      out.push(compare(`the result's first IP is ${ADDRESS}`, cnilab("add"), ip?.address, ADDRESS));
      out.push(compare(
        "the result's IP points at interface eth0 in the pod's namespace",
        cnilab("add"),
        { name: iface?.name, sandbox: iface?.sandbox },
        { name: "eth0", sandbox: path },
        "ips[0].interface is an index into interfaces; the interface's sandbox is CNI_NETNS",
      ));
      const eth0 = await link.get("eth0", { netns: name });
      out.push(
        compare(`${name}: eth0 exists, a veth, up`, `ip -n ${name} -json -details link show eth0`, {
          kind: eth0?.kind ?? null,
          up: eth0?.up ?? null,
        }, { kind: "veth", up: true }),
      );
      const cidrs = (await addr.list({ netns: name, dev: eth0 ? "eth0" : undefined, family: 4 })).filter((
        a,
      ) => a.dev === "eth0").map((a) => a.cidr);
      out.push(
        compare(`${name}: eth0 holds ${ADDRESS}`, `ip -n ${name} -json addr show dev eth0`, cidrs, [ADDRESS]),
      );
      const newEnds = (await hostEnds()).filter((n) => !endsBefore.has(n));
      const hostUp = newEnds.length === 1 && (await link.get(newEnds[0]))?.up === true;
      out.push(
        compare(
          "the host end is one new link named exo…, up",
          "ip -json link show",
          hostUp
            ? "one, up"
            : `${newEnds.length ? newEnds.join(", ") : "none"}${newEnds.length === 1 ? " (down)" : ""}`,
          "one, up",
        ),
      );
      out.push(
        compare(
          "the runtime cached the result (what DEL will get)",
          `ls ${RESULTS}/ex-own-*-eth0`,
          newCaches().length,
          1,
          undefined,
          `${newCaches().length} new cache files in ${RESULTS}`,
        ),
      );

      const del = await run([ctx.vars.CNILAB, "cni", "del", "ex-own", path], {
        env,
        check: false,
        timeoutMs: 30000,
      });
      out.push(
        compare(
          "DEL through the runtime succeeds",
          cnilab("del"),
          del.code === 0 ? "exit 0" : `exit ${del.code}: ${said(del)}`,
          "exit 0",
        ),
      );
      const eth0After = await link.get("eth0", { netns: name });
      out.push(
        compare(
          `${name}: eth0 is gone after DEL`,
          `ip -n ${name} link show eth0`,
          eth0After ? "still there" : "gone",
          "gone",
        ),
      );
      const endsLeft = (await hostEnds()).filter((n) => !endsBefore.has(n));
      out.push(
        compare(
          "the host end is gone after DEL",
          "ip -json link show",
          endsLeft.length ? endsLeft.join(", ") : "gone",
          "gone",
        ),
      );
      const again = await run([ctx.vars.CNILAB, "cni", "del", "ex-own", path], {
        env,
        check: false,
        timeoutMs: 30000,
      });
      out.push(
        compare(
          "DEL again succeeds (DEL is idempotent)",
          cnilab("del"),
          again.code === 0 ? "exit 0" : `exit ${again.code}: ${said(again)}`,
          "exit 0",
          "a DEL of something already gone must succeed",
        ),
      );
      await netns.del(name);
      const gone = await run([ctx.vars.CNILAB, "cni", "del", "ex-own", path], {
        env,
        check: false,
        timeoutMs: 30000,
      });
      out.push(
        compare(
          "DEL after the namespace is gone succeeds",
          cnilab("del"),
          gone.code === 0 ? "exit 0" : `exit ${gone.code}: ${said(gone)}`,
          "exit 0",
          "check that CNI_NETNS exists before entering it",
        ),
      );
      return out;
    } finally {
      if (await netns.exists(name)) await netns.del(name).catch(() => undefined);
      for (const n of await hostEnds()) if (!endsBefore.has(n)) await link.del(n).catch(() => undefined);
      for (const f of newCaches()) rmSync(f, { force: true });
    }
  },
};
