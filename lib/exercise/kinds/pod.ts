/**
 * The `pod` check: a pod of `cnilab pod`; binds `${as.ip}`, `${as.netns}` ….
 *
 * In checks.yaml: `pod: NS/NAME`, `running`, `shared_netns`, `as`.
 * @module
 */
import { statSync } from "node:fs";
import type { CheckSpec } from "../exercise.ts";
import { type CheckContext, type CheckResult, compare, str } from "./_kind.ts";

export async function podCheck(spec: CheckSpec, ctx: CheckContext): Promise<CheckResult[]> {
  const ref = str(ctx, spec.pod)!;
  const [ns, name] = ref.includes("/") ? ref.split("/") : ["default", ref];
  const command = "cnilab pod ls --json";
  const title = spec.name ?? `pod ${ns}/${name} runs`;
  const { listPodSandbox } = await import("../../sandbox/mod.ts");
  const s = listPodSandbox().find((p) => p.namespace === ns && p.name === name);
  if (spec.absent) {
    return [
      compare(
        spec.name ?? `pod ${ns}/${name} is gone`,
        command,
        s ? "exists" : "gone",
        "gone",
        spec.hint,
        `pod ${ns}/${name} still exists`,
      ),
    ];
  }
  if (!s) {
    return [{
      name: title,
      command,
      status: "fail",
      expected: `pod ${ns}/${name}`,
      actual: "no such pod",
      observed: `there is no pod ${ns}/${name}`,
      hint: spec.hint,
    }];
  }
  const as = String(spec.as ?? "pod");
  ctx.vars[`${as}.id`] = s.id;
  ctx.vars[`${as}.netns`] = s.netns.name;
  ctx.vars[`${as}.ip`] = s.status?.ip ?? "";
  ctx.vars[`${as}.holder`] = String(s.holder?.pid ?? "");
  const out: CheckResult[] = [];
  const running = s.containers.filter((c) => c.phase === "running").length;
  if (spec.running !== undefined) {
    out.push(
      compare(
        `${title} with ${spec.running} running containers`,
        command,
        running,
        Number(spec.running),
        spec.hint,
        `${running} of its ${s.containers.length} containers run`,
      ),
    );
  }
  if (spec.shared_netns) {
    const nsOf = (pid?: number) => {
      try {
        return pid ? String(statSync(`/proc/${pid}/ns/net`).ino) : "gone";
      } catch {
        return "gone";
      }
    };
    const holderNs = nsOf(s.holder?.pid);
    for (const c of s.containers) {
      const pid = c.process?.pid;
      out.push(compare(
        `container ${c.name} (PID ${pid ?? "?"}) is in the pause holder's network namespace`,
        `readlink /proc/${pid ?? "PID"}/ns/net /proc/${s.holder?.pid ?? "PID"}/ns/net`,
        nsOf(pid) === holderNs && holderNs !== "gone" ? "same" : "different",
        "same",
        spec.hint,
        `container ${c.name} is not in the pause holder's network namespace`,
      ));
    }
  }
  return out.length ? out : [{ name: title, command, status: "pass" }];
}
