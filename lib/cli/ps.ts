/**
 * `cnilab ps` and `cnilab down`: one run's life cycle. Every journal under /run/cnilab is a run (a lab
 * kept with --keep, a pod, a started exercise, a run still in progress); `down` removes exactly one run's
 * objects and verifies, like a lab's teardown, that each is gone.
 * @module
 */
import { LABS } from "../../labs/mod.ts";
import { leftoversOf } from "../lab/mod.ts";
import { ago, listOwners, type Owned, type Owner } from "../ownership/mod.ts";
import { parseArgs } from "./args.ts";
import { type Command, Exit, UsageError } from "./command.ts";
import { requireRoot } from "./env.ts";
import { table } from "./table.ts";

/** A run as `cnilab ps` shows it. */
export interface RunRow {
  id: string;
  kind: string;
  name: string;
  /** kept (left standing), running (its process is alive) or stale (killed: `cnilab clean` removes it). */
  state: "kept" | "running" | "stale";
  createdAt: string;
  age: string;
  holds: { namespaces: string[]; links: string[]; processes: number[]; other: number };
}

function holds(objects: Owned[]): RunRow["holds"] {
  const h: RunRow["holds"] = { namespaces: [], links: [], processes: [], other: 0 };
  for (const o of objects) {
    if (o.kind === "netns") h.namespaces.push(o.name);
    else if (o.kind === "link") h.links.push(o.netns ? `${o.netns}/${o.name}` : o.name);
    else if (o.kind === "process") h.processes.push(o.pid);
    else h.other++;
  }
  return h;
}

function row(o: Owner): RunRow {
  return {
    id: o.id,
    kind: o.info.kind,
    name: o.info.kind === "lab"
      ? `${LABS.find((l) => l.id === o.info.label)?.section ?? ""} ${o.info.label}`.trim()
      : o.info.label,
    state: o.info.kept ? "kept" : o.creatorAlive() ? "running" : "stale",
    createdAt: o.info.createdAt,
    age: ago(o.info.createdAt),
    holds: holds(o.objects()),
  };
}

function summary(h: RunRow["holds"]): string {
  const parts = [
    h.namespaces.length ? `${h.namespaces.length} netns` : "",
    h.links.length ? `${h.links.length} link${h.links.length > 1 ? "s" : ""} (${h.links.join(", ")})` : "",
    h.processes.length ? `${h.processes.length} process${h.processes.length > 1 ? "es" : ""}` : "",
    h.other ? `${h.other} file${h.other > 1 ? "s" : ""}/settings` : "",
  ].filter(Boolean);
  return parts.join(", ") || "nothing";
}

/** `cnilab ps` */
export const ps: Command = {
  name: "ps",
  summary: "list every kept lab, pod and started exercise: run id, kind, age, what it holds",
  usage: `usage: cnilab ps [--json]

Lists every cnilab run on this machine that still holds something: labs kept with --keep, pods, started
exercises, runs in progress, and runs a kill left behind (stale). Each row has the run id that
'cnilab down <id>' takes, and what the run holds: namespaces, links, processes.`,
  async run(argv) {
    const { values } = parseArgs({ args: argv, options: { json: { type: "boolean" } } });
    requireRoot();
    const rows = (await listOwners()).map(row);
    if (values.json) {
      console.log(JSON.stringify({ runs: rows }, null, 2));
      return Exit.Ok;
    }
    if (rows.length === 0) {
      console.log("no cnilab runs on this machine");
      return Exit.Ok;
    }
    console.log(table(
      ["RUN", "KIND", "NAME", "STATE", "AGE", "HOLDS"],
      rows.map((r) => [r.id, r.kind, r.name, r.state, r.age, summary(r.holds)]),
    ));
    return Exit.Ok;
  },
};

/** `cnilab down` */
export const down: Command = {
  name: "down",
  summary: "remove one run (a kept lab, a pod, an exercise) and verify it is gone",
  usage: `usage: cnilab down <run-id|lab-id|section> [--json]

Removes exactly the objects one run recorded (see 'cnilab ps'), then checks each is really gone, as a
lab's teardown does. Other runs are not touched. A lab id or section (e.g. 2.5) names that lab's kept
run. 'cnilab clean' removes everything cnilab made instead.`,
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { json: { type: "boolean" } },
    });
    if (positionals.length === 0) throw new UsageError("name a run id, lab id or section (see 'cnilab ps')");
    if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`);
    const key = positionals[0];
    requireRoot();
    const owners = await listOwners();
    const lab = LABS.find((l) => l.id === key || l.section === key);
    const matches = owners.filter((o) =>
      o.id === key || (o.id.startsWith(key) && key.length >= 4) ||
      (lab !== undefined && o.info.kind === "lab" && o.info.label === lab.id)
    );
    if (matches.length === 0) {
      throw new UsageError(`no cnilab run '${key}' on this machine (see 'cnilab ps')`);
    }
    if (matches.length > 1) {
      throw new UsageError(
        `'${key}' names ${matches.length} runs (${matches.map((o) => o.id).join(", ")}): pick one`,
      );
    }
    const owner = matches[0];
    if (!owner.info.kept && owner.creatorAlive()) {
      throw new UsageError(
        `run ${owner.id} is still in progress (process ${owner.info.pid}); stop it with Ctrl-C`,
      );
    }
    const objects = owner.objects();
    const r = row(owner);
    const removed = await owner.release();
    const leftovers = await leftoversOf(owner, objects);
    if (values.json) {
      console.log(JSON.stringify({ run: owner.id, kind: r.kind, name: r.name, removed, leftovers }, null, 2));
    } else {
      console.log(`run ${owner.id} (${r.kind} ${r.name}): removed ${removed.length}`);
      for (const x of removed) console.log(`  ${x}`);
      console.log(
        leftovers.length ? `✗ left behind: ${leftovers.join(", ")}` : "✓ verified: nothing is left",
      );
    }
    return leftovers.length ? Exit.CheckFailed : Exit.Ok;
  },
};
