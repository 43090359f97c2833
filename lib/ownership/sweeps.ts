/**
 * The sweeps: `cnilab clean` and stale-run recovery. They release owners through their journals, then
 * remove what still carries cnilab's mark without one (a process with CNILAB_OWNER, a link whose alias is
 * `cnilab:<owner>`, a sysctl ledger, a shared directory's ledger).
 * @module
 */
import { existsSync, readdirSync, rmSync } from "node:fs";
import process from "node:process";
import { link } from "../iproute2/mod.ts";
import { MARK_PREFIX, OWNERS_DIR, SYSCTL_DIR, tidyStateDir } from "./_state.ts";
import { Owner, type OwnerInfo } from "./journal.ts";
import { markedProcesses, processStart, stopProcess } from "./processes.ts";
import { ledgerUsers, restoreSysctl } from "./sysctl.ts";
import { sweepDirs } from "./dirs.ts";

/** Every owner with a journal. */
export async function listOwners(): Promise<Owner[]> {
  if (!existsSync(OWNERS_DIR)) return [];
  const owners: Owner[] = [];
  for (const f of readdirSync(OWNERS_DIR).filter((f) => f.endsWith(".jsonl")).sort()) {
    try {
      owners.push(await Owner.open(f.slice(0, -".jsonl".length)));
    } catch {
      // an empty journal (killed before its header was written): nothing was created
      rmSync(`${OWNERS_DIR}/${f}`, { force: true });
    }
  }
  return owners;
}

/** Releases the owners whose creating process died without finishing (and were not kept). */
export async function cleanStale(): Promise<{ owner: OwnerInfo; removed: string[] }[]> {
  const out: { owner: OwnerInfo; removed: string[] }[] = [];
  for (const owner of await listOwners()) {
    if (owner.info.kept || owner.creatorAlive()) continue;
    out.push({ owner: owner.info, removed: await owner.release() });
  }
  return out;
}

/**
 * `cnilab clean`: releases every owner (kept ones too), then sweeps what carries cnilab's mark without a
 * journal: processes with CNILAB_OWNER, host links whose alias starts with `cnilab:`, sysctl ledgers.
 * Owners that belong to a process that is running right now are skipped unless `all` is set.
 */
export async function cleanAll(opts: { includeLive?: boolean } = {}): Promise<string[]> {
  const removed: string[] = [];
  const live = new Set<string>();
  for (const owner of await listOwners()) {
    if (!opts.includeLive && !owner.info.kept && owner.creatorAlive() && owner.info.pid !== process.pid) {
      live.add(owner.id);
      continue;
    }
    removed.push(...await owner.release());
  }
  for (const p of markedProcesses()) {
    if (live.has(p.owner)) continue;
    const start = processStart(p.pid);
    if (start !== undefined && await stopProcess(p.pid, start)) removed.push(`process ${p.pid}`);
  }
  for (const l of await link.list()) {
    if (!l.alias?.startsWith(MARK_PREFIX) || live.has(l.alias.slice(MARK_PREFIX.length))) continue;
    try {
      await link.del(l.name);
      removed.push(`link ${l.name}`);
    } catch {
      // gone already (a veth whose peer went first)
    }
  }
  if (existsSync(SYSCTL_DIR)) {
    for (const f of readdirSync(SYSCTL_DIR)) {
      const key = f.replace(/\.json$/, "");
      const users = ledgerUsers(key).filter((u) => live.has(u));
      if (users.length === 0) {
        restoreSysctl(key);
        removed.push(`sysctl ${key}`);
      }
    }
  }
  for (const dir of await sweepDirs(live)) removed.push(`directory ${dir}`);
  tidyStateDir({ allEmpty: true });
  return [...new Set(removed)];
}
