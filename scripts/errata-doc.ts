/**
 * Writes docs/errata.md from lib/errata/mod.ts (the same entries `cnilab errata` prints and every
 * transcript ends with), formatted the way `deno fmt` formats Markdown so the fmt gate stays green.
 * Run: node_modules/.bin/bun scripts/errata-doc.ts (tests/errata.test.ts fails when the file is stale).
 * @module
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { errataDoc } from "../lib/errata/mod.ts";
import { REPO_ROOT } from "../lib/util/mod.ts";

const ROOT = `${REPO_ROOT}/`;
/** Where the generated sheet lives. */
export const ERRATA_DOC = `${ROOT}docs/errata.md`;

/** docs/errata.md as it should be: {@link errataDoc} through `deno fmt` with the repository's config. */
export function renderErrataDoc(): string {
  const r = spawnSync(`${ROOT}node_modules/.bin/deno`, [
    "fmt",
    "--config",
    `${ROOT}deno.json`,
    "--ext",
    "md",
    "-",
  ], {
    input: errataDoc(),
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`deno fmt failed: ${r.stderr}`);
  return r.stdout;
}

if (import.meta.main) {
  writeFileSync(ERRATA_DOC, renderErrataDoc());
  console.log(`wrote ${ERRATA_DOC}`);
}
