/**
 * The `ping` check: one echo reply (only to loopback or inside the exercise's own objects).
 *
 * In checks.yaml: `ping: ADDR`, `from: NETNS`.
 * @module
 */
import { netns } from "../../iproute2/mod.ts";
import type { CheckSpec } from "../exercise.ts";
import { type CheckContext, type CheckResult, compare, str } from "./_kind.ts";
import { pingOnce } from "./_helpers.ts";

export async function pingCheck(spec: CheckSpec, ctx: CheckContext): Promise<CheckResult[]> {
  const to = str(ctx, spec.ping)!;
  const from = str(ctx, spec.from);
  const title = spec.name ?? `${from ? from : "host"} reaches ${to}`;
  if (from && !(await netns.exists(from))) {
    return [{
      name: title,
      command: `ip netns exec ${from} ping -c 1 -W 1 ${to}`,
      status: "fail",
      expected: "reply",
      actual: `no namespace ${from}`,
      observed: `there is no network namespace ${from}`,
    }];
  }
  const r = await pingOnce(ctx.ex, to, from);
  if (r.refused) {
    return [{
      name: title,
      command: r.command,
      status: "fail",
      expected: "reply",
      actual: r.refused,
      observed: r.refused,
      hint: spec.hint,
    }];
  }
  return [
    compare(
      title,
      r.command,
      r.ok ? "reply" : "no reply",
      "reply",
      spec.hint,
      `no reply to a ping from ${from ?? "the host"} to ${to}`,
    ),
  ];
}
