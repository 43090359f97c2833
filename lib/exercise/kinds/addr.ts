/**
 * The `addr` check: an address on a link.
 *
 * In checks.yaml: `addr: DEV`, `netns`, `has: CIDR` or `in: SUBNET`, `as`.
 * @module
 */
import { Address4 } from "ip-address";
import { addr, link } from "../../iproute2/mod.ts";
import type { CheckSpec } from "../exercise.ts";
import { type CheckContext, type CheckResult, str } from "./_kind.ts";
import { inNs, ipCmd, nsMissing, where } from "./_helpers.ts";

export async function addrCheck(spec: CheckSpec, ctx: CheckContext): Promise<CheckResult[]> {
  const dev = str(ctx, spec.addr)!;
  const ns = str(ctx, spec.netns);
  const command = ipCmd(`-json addr show dev ${dev}`, ns);
  const has = str(ctx, spec.has);
  const inSubnet = str(ctx, spec.in);
  const title = spec.name ?? `${ns ? `${ns}: ` : ""}${dev} has ${has ?? `an address in ${inSubnet}`}`;
  const missing = await nsMissing(ns, title, command);
  if (missing) return [missing];
  const exists = (await link.get(dev, where(ns))) !== undefined;
  const list = exists ? await addr.list({ ...where(ns), dev, family: 4 }) : [];
  const cidrs = list.map((a) => a.cidr);
  const holds = !exists
    ? `there is no link ${dev}${inNs(ns)}`
    : cidrs.length === 0
    ? `${dev}${inNs(ns)} has no address`
    : `${dev}${inNs(ns)} holds ${cidrs.join(", ")}`;
  const actual = cidrs.length
    ? cidrs.join(", ")
    : `no IPv4 address${list.length === 0 ? " (or no such link)" : ""}`;
  if (has) {
    return [
      cidrs.includes(has) ? { name: title, command, status: "pass" } : {
        name: title,
        command,
        status: "fail",
        expected: has,
        actual,
        observed: exists && cidrs.length ? `${holds}, not ${has}` : holds,
        hint: spec.hint,
      },
    ];
  }
  const subnet = new Address4(inSubnet!);
  const hit = list.find((a) => new Address4(a.local).isInSubnet(subnet));
  if (hit && spec.as) ctx.vars[String(spec.as)] = hit.local;
  return [
    hit ? { name: title, command, status: "pass" } : {
      name: title,
      command,
      status: "fail",
      expected: `an address in ${inSubnet}`,
      actual,
      observed: exists && cidrs.length ? `${holds}, none in ${inSubnet}` : holds,
      hint: spec.hint,
    },
  ];
}
