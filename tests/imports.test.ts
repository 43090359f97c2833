// The layering, checked: every module imports downwards only (scripts/check-imports.ts has the table), and
// no module comes back to itself through a circle. A planted tree shows the check can fail.
import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { checkImports } from "../scripts/check-imports.ts";

const ROOT = join(import.meta.dir, "..");
const planted = mkdtempSync(join(tmpdir(), "cnilab-imports-"));
afterAll(() => rmSync(planted, { recursive: true, force: true }));

function plant(files: Record<string, string>): string {
  const root = mkdtempSync(join(planted, "tree-"));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

test("cnilab's tree: every layer imports downwards, no circles", () => {
  expect(checkImports(ROOT).map((v) => v.message)).toEqual([]);
});

test("an upward import, a sibling import and a circle are each reported", () => {
  const root = plant({
    "lib/plugins/bridge/mod.ts": `import { run } from "../../runtime/mod.ts";\nexport const x = run;\n`,
    "lib/runtime/mod.ts": `export const run = 1;\n`,
    "lib/cni/a.ts": `import { b } from "./b.ts";\nexport const a = b;\n`,
    "lib/cni/b.ts": `import { a } from "./a.ts";\nexport const b = a;\n`,
    "lib/shell/mod.ts": `export { Owner } from "../sandbox/mod.ts";\n`,
    "lib/sandbox/mod.ts": `export const Owner = 1;\n`,
  });
  const kinds = checkImports(root).map((v) => `${v.kind} ${v.files.join(" ")}`).sort();
  expect(kinds).toEqual([
    "circle lib/cni/a.ts lib/cni/b.ts",
    "sibling lib/plugins/bridge/mod.ts lib/runtime/mod.ts",
    "upward lib/shell/mod.ts lib/sandbox/mod.ts",
  ]);
});

test("a folder without a place in the layer table is reported", () => {
  const root = plant({ "lib/newroom/mod.ts": `export const x = 1;\n` });
  expect(checkImports(root).map((v) => v.kind)).toEqual(["unknown-folder"]);
});
