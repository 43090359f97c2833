/**
 * leaky-plugin: one pod lifecycle through cnilab's runtime (`cnilab cni add`, then `del`) with the attendee's
 * plugin, in a namespace of the check's own; the reservation must appear on ADD and be gone after DEL.
 * Whatever the check creates it removes again, the leaked reservation included.
 */
import { existsSync, readdirSync, rmSync } from "node:fs";
import type { CheckContext, CheckResult } from "../../lib/exercise/checks.ts";
import { netns } from "../../lib/iproute2/mod.ts";
import { run } from "../../lib/shell/mod.ts";

const RESULTS = "/var/lib/cni/results";

/** libcni's cache files of the network: the one the check's ADD made is the new one. */
function cacheFiles(): string[] {
  return existsSync(RESULTS)
    ? readdirSync(RESULTS).filter((f) => f.startsWith("ex-leak-")).map((f) => `${RESULTS}/${f}`)
    : [];
}

function reservations(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((f) => /^10\.231\.9\./.test(f)) : [];
}

/** The checks this exercise's checks.yaml names. */
/** A check that failed because the command it ran exited non-zero: its last words are the actual value. */
function commandFailed(
  name: string,
  command: string,
  r: { code: number; stdout: string; stderr: string },
  expected: string,
): CheckResult {
  const said = (r.stderr.trim() || r.stdout.trim()).split("\n").slice(-2).join(" / ");
  return {
    name,
    command,
    status: "fail",
    expected,
    actual: `exit ${r.code}: ${said}`,
    observed: `the command exited ${r.code}: ${said}`,
  };
}

export const checks = {
  async releaseOnDel(ctx: CheckContext): Promise<CheckResult[]> {
    const work = ctx.vars.WORK;
    const dir = `${work}/ipam/ex-leak`;
    const ns = `cni-exl-check-${crypto.randomUUID().slice(0, 8)}`;
    const path = `/var/run/netns/${ns}`;
    const env = { NETCONFPATH: `${work}/net.d`, CNI_PATH: `${work}/bin:/usr/lib/cni` };
    const envText = `NETCONFPATH=${env.NETCONFPATH} CNI_PATH=${env.CNI_PATH}`;
    const out: CheckResult[] = [];
    const before = new Set(reservations(dir));
    const cachesBefore = new Set(cacheFiles());
    await netns.add(ns);
    try {
      const add = await run([ctx.vars.CNILAB, "cni", "add", "ex-leak", path], { env, check: false });
      const addCmd = `${envText} cnilab cni add ex-leak ${path}`;
      if (add.code !== 0) {
        out.push({
          ...commandFailed(
            "CNI ADD through the runtime gives the pod an address",
            addCmd,
            add,
            "exit 0 and a result",
          ),
          hint: "is the range full of leaked reservations?",
        });
        return out;
      }
      const ip = (JSON.parse(add.stdout) as { ips?: { address: string }[] }).ips?.[0]?.address.split("/")[0];
      out.push({
        name: `CNI ADD through the runtime gives the pod an address (${ip})`,
        command: addCmd,
        status: "pass",
      });
      const added = reservations(dir).filter((f) => !before.has(f));
      out.push(
        added.length === 1 && added[0] === ip
          ? { name: `host-local reserved ${ip} for the pod`, command: `ls ${dir}`, status: "pass" }
          : {
            name: "host-local reserved the pod's address",
            command: `ls ${dir}`,
            status: "fail",
            expected: `one new reservation ${ip}`,
            actual: added.length ? added.join(", ") : "none",
            observed: `ADD reserved ${added.length ? added.join(", ") : "nothing"} in ${dir}`,
          },
      );
      const del = await run([ctx.vars.CNILAB, "cni", "del", "ex-leak", path], { env, check: false });
      const delCmd = `${envText} cnilab cni del ex-leak ${path}`;
      if (del.code !== 0) {
        out.push(commandFailed("CNI DEL through the runtime succeeds", delCmd, del, "exit 0"));
        return out;
      }
      const left = reservations(dir).filter((f) => !before.has(f));
      out.push(
        left.length === 0
          ? { name: `CNI DEL released ${ip}`, command: `${delCmd} && ls ${dir}`, status: "pass" }
          : {
            name: "CNI DEL released the pod's address",
            command: `${delCmd} && ls ${dir}`,
            status: "fail",
            expected: `${ip} no longer reserved`,
            actual: `still reserved: ${left.join(", ")} (DEL exited 0, so the plugin reported success)`,
            observed: `${
              left.join(", ")
            } is still reserved after DEL, which exited 0 (the plugin reported success)`,
            hint: "compare what the reservation file holds with what the plugin passes to host-local on DEL",
          },
      );
      return out;
    } finally {
      // leave the node as the check found it: no namespace, no leaked reservation of our own
      await netns.del(ns).catch(() => undefined);
      for (const f of reservations(dir)) if (!before.has(f)) rmSync(`${dir}/${f}`, { force: true });
      // and no cache entry, when DEL failed or was never reached
      for (const f of cacheFiles()) if (!cachesBefore.has(f)) rmSync(f, { force: true });
    }
  },
};
