/**
 * Ownership: everything cnilab creates is recorded in a journal under /run/cnilab before it is created,
 * and marked where the kernel lets us (link alias `cnilab:<owner>`, `CNILAB_OWNER` in a process's
 * environment). Teardown, `cnilab clean` and stale-run recovery replay the journal newest-first and remove
 * only objects that are still there *and* still carry cnilab's mark, so a look-alike made by someone else
 * survives. The journal lives on /run (tmpfs): it is gone after a reboot, exactly like namespaces,
 * links and processes.
 *
 * One job per file: `journal.ts` (the {@link Owner} and its journal), `processes.ts` (/proc: start times,
 * marked processes, stopping one), `sweeps.ts` (`cnilab clean`, stale runs), `sysctl.ts` (the ledger that
 * restores a host setting), `dirs.ts` (the ledger of shared directories such as /etc/netns), `teardowns.ts` (typed undos a higher layer registers), `_state.ts` (the state directory).
 *
 * ```ts
 * import { Owner, setSysctl } from "./lib/ownership/mod.ts";
 * const owner = await Owner.begin("lab", "2.1");
 * await owner.createNetns("cnilab21");                            // journalled, then created
 * await setSysctl(owner, "net.ipv4.ip_forward", "1");              // the original value is kept
 * await owner.release();                                          // newest first: sysctl back, netns gone
 * ```
 * @module
 */
export { isDir, MARK_PREFIX, STATE_DIR, tidyStateDir } from "./_state.ts";
export {
  ago,
  CollisionError,
  describe,
  journalPath,
  type Owned,
  Owner,
  type OwnerInfo,
  type OwnerKind,
  recordedBy,
  withOwnerLock,
} from "./journal.ts";
export { markedProcesses, processAlive, processStart, sleep, stopProcess } from "./processes.ts";
export { cleanAll, cleanStale, listOwners } from "./sweeps.ts";
export { registerTeardown, type Teardown } from "./teardowns.ts";
export { guardSysctl, type LedgerOwner, readSysctl, setSysctl } from "./sysctl.ts";
