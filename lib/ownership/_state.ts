/**
 * The state directory under /run/cnilab and the marks: where journals and sysctl ledgers live, and the
 * tidy-up that leaves /run as cnilab found it. Shared by the journal, the sweeps and the sysctl ledger.
 * @module
 */
import { existsSync, readdirSync, rmdirSync, statSync } from "node:fs";
import process from "node:process";

/** Where cnilab keeps its state; overridable for tests with CNILAB_STATE_DIR. */
export const STATE_DIR = process.env.CNILAB_STATE_DIR ?? "/run/cnilab";
export const OWNERS_DIR = `${STATE_DIR}/owners`;
export const SYSCTL_DIR = `${STATE_DIR}/sysctl`;
export const DIRS_DIR = `${STATE_DIR}/dirs`;

/** The prefix of every mark cnilab puts on what it creates. */
export const MARK_PREFIX = "cnilab:";

/** Removes cnilab's state directories once they are empty, so /run is left as cnilab found it. */
export function tidyStateDir(opts: { allEmpty?: boolean } = {}): void {
  // `cnilab clean` also takes the empty directories other parts keep under /run/cnilab (sandboxes, …): a
  // kill -9 can fall between creating one and recording the first thing in it
  const extra = opts.allEmpty && existsSync(STATE_DIR)
    ? readdirSync(STATE_DIR).map((d) => `${STATE_DIR}/${d}`).filter(isDir)
    : [];
  for (const dir of [...extra, OWNERS_DIR, SYSCTL_DIR, DIRS_DIR, STATE_DIR]) {
    try {
      rmdirSync(dir);
    } catch {
      // not empty (another owner is alive) or already gone
    }
  }
}

/** True when the path is a directory. */
export function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
