/**
 * pod-teardown's starting state: the pod ex-teardown/victim, run with `cnilab pod run`, and the facts about it
 * (kept where the check finds them after the pod is gone).
 */
import { writeFileSync } from "node:fs";
import process from "node:process";
import { link } from "../../lib/iproute2/mod.ts";
import { run } from "../../lib/shell/mod.ts";

const work = process.env.WORK!;
const r = await run([process.env.CNILAB!, "pod", "run", "--json", `${process.env.EXDIR}/victim.yaml`]);
const pod = (JSON.parse(r.stdout) as {
  pod: { id: string; netns: { name: string }; holder?: { pid: number }; status?: { ip?: string } };
}).pod;
// the host end of the veth: the host link whose index is eth0's peer index
const eth0 = await link.get("eth0", { netns: pod.netns.name });
const veth = (await link.list()).find((l) => l.index === eth0?.peerIndex && l.master === "cnilab0");
const facts = {
  id: pod.id,
  ip: pod.status?.ip ?? "",
  netns: pod.netns.name,
  holder: String(pod.holder?.pid ?? ""),
  veth: veth?.name ?? "",
};
writeFileSync(`${work}/facts.json`, JSON.stringify(facts, null, 2) + "\n");
console.log(`pod ex-teardown/victim is running (IP ${facts.ip})`);
