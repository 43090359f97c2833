/**
 * Host settings: a ledger per sysctl keeps the value found before cnilab first changed it, and which owners
 * use it; the last owner released puts the original value back.
 * @module
 */
import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { readSysctl, sysctlPath } from "../sys/sysctl.ts";
import { SYSCTL_DIR } from "./_state.ts";

/** An owner as the ledger sees it: its id, and its journal to record the sysctl in (an `Owner`). */
export interface LedgerOwner {
  readonly id: string;
  record(obj: { kind: "sysctl"; key: string; value: string }): Promise<void>;
}

interface Ledger {
  original: string;
  users: string[];
}

export function ledgerPath(key: string): string {
  return `${SYSCTL_DIR}/${key}.json`;
}

export { readSysctl };

/** The current value of a sysctl the ledger is about to change (it must exist). */
function currentValue(key: string): string {
  const value = readSysctl(key);
  if (value === undefined) throw new Error(`no such sysctl: ${key} (${sysctlPath(key)})`);
  return value;
}

function readLedger(key: string): Ledger | undefined {
  try {
    return JSON.parse(readFileSync(ledgerPath(key), "utf8")) as Ledger;
  } catch {
    return undefined;
  }
}

export function ledgerUsers(key: string): string[] {
  return readLedger(key)?.users ?? [];
}

/**
 * Sets a host sysctl for an owner. The first owner to change it records the original value; the value is
 * restored when the last owner using it is released.
 */
export async function setSysctl(owner: LedgerOwner, key: string, value: string): Promise<void> {
  mkdirSync(SYSCTL_DIR, { recursive: true, mode: 0o700 });
  const ledger = readLedger(key) ?? { original: currentValue(key), users: [] };
  if (!ledger.users.includes(owner.id)) ledger.users.push(owner.id);
  writeFileSync(ledgerPath(key), JSON.stringify(ledger));
  await owner.record({ kind: "sysctl", key, value });
  writeFileSync(sysctlPath(key), value);
}

/**
 * Records a sysctl's current value for an owner without changing it, because something the owner runs
 * will (the bridge plugin turns on ip_forward as a gateway). Restored like {@link setSysctl}.
 */
export async function guardSysctl(owner: LedgerOwner, key: string): Promise<void> {
  await setSysctl(owner, key, currentValue(key));
}

export function releaseSysctl(ownerId: string, key: string): boolean {
  const ledger = readLedger(key);
  if (!ledger) return false;
  ledger.users = ledger.users.filter((u) => u !== ownerId);
  if (ledger.users.length > 0) {
    writeFileSync(ledgerPath(key), JSON.stringify(ledger));
    return false;
  }
  restoreSysctl(key);
  return true;
}

export function restoreSysctl(key: string): void {
  const ledger = readLedger(key);
  if (ledger) writeFileSync(sysctlPath(key), ledger.original);
  try {
    unlinkSync(ledgerPath(key));
  } catch {
    // already restored
  }
}
