/**
 * Debian's chromium, headless, driven by playwright-core (its own browser downloads cannot work offline):
 * for the benchmark and the browser tests. Launched so it never reaches the network on its own, with a fresh
 * profile (playwright makes a new user-data-dir for every launch and removes it on close).
 * @module
 */
import type { Browser } from "playwright-core";
import process from "node:process";

/** Where setup's chromium is (CNILAB_CHROMIUM overrides). */
export const CHROMIUM = process.env.CNILAB_CHROMIUM ?? "/usr/bin/chromium";

/** Flags that keep chromium off the network: no QUIC, no background fetches, no component updates, no sync. */
export const QUIET_FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Starts chromium; `extraArgs` are added to {@link QUIET_FLAGS}. */
export async function launchBrowser(extraArgs: string[] = []): Promise<Browser> {
  const { chromium } = await import("playwright-core");
  return await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [...QUIET_FLAGS, ...extraArgs],
  });
}
