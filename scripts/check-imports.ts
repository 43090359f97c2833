/**
 * The import check: cnilab's layers import downwards only, and no module imports itself back through a
 * circle. The layers are the chapter's own diagram (`../shared/STYLE.md`): a lab talks to the sandbox runtime,
 * the sandbox runtime to the CNI runtime, the CNI runtime execs a plugin, a plugin talks to the kernel. A
 * plugin never imports the runtime, the runtime never imports a lab.
 *
 * ```sh
 * bun scripts/check-imports.ts        # exit 0, or one line per violation and exit 1
 * ```
 *
 * @module
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

/**
 * Each top-level folder's rank: a module may import from a lower rank, and from its own folder. Folders of
 * one rank are siblings and may not import each other (plugins and the runtime are the two sides of the CNI
 * protocol; both stand on lib/cni). A folder missing from this table is an error, so a new folder gets a
 * place in the layering when it is made.
 */
export const LAYERS: Record<string, number> = {
  "lib/events": 0,
  "lib/sys": 0,
  "lib/text": 0,
  "lib/util": 0,
  "lib/shell": 1,
  "lib/iproute2": 2,
  "lib/netlink": 2,
  "lib/cni": 3,
  "lib/ownership": 3,
  "lib/plugins": 4,
  "lib/runtime": 4,
  "lib/topology": 4,
  "lib/sandbox": 5,
  "lib/trace": 5,
  "lib/bench": 6,
  "lib/lab": 6,
  "lib/errata": 6,
  "lib/exercise": 7,
  "labs": 7,
  "lib/ui": 8,
  "exercises": 8,
  "lib/cli": 9,
  "scripts": 10,
};

/** One import that breaks the layering, or one circle of modules. */
export interface Violation {
  kind: "upward" | "sibling" | "unknown-folder" | "circle";
  /** `from → to` for an import, the modules of the circle for a circle. */
  files: string[];
  message: string;
}

const IMPORT =
  /(?:^|[\s;])(?:import|export)\s[^;]*?\sfrom\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;

function sourceFiles(root: string, dir: string): string[] {
  const out: string[] = [];
  const full = join(root, dir);
  let names: string[];
  try {
    names = readdirSync(full);
  } catch {
    return out;
  }
  for (const name of names) {
    if (name === "node_modules" || name.startsWith(".")) continue;
    const path = join(full, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(root, join(dir, name)));
    else if (/\.(ts|tsx|js|mjs)$/.test(name) && !/\.d\.ts$/.test(name)) out.push(join(dir, name));
  }
  return out;
}

/** The folder of the layer table a repository-relative path belongs to (longest prefix). */
export function layerOf(path: string): string | undefined {
  let best: string | undefined;
  for (const folder of Object.keys(LAYERS)) {
    if ((path === folder || path.startsWith(folder + "/")) && (!best || folder.length > best.length)) {
      best = folder;
    }
  }
  return best;
}

/** Relative imports of every module under lib/, labs/, exercises/ and scripts/, resolved to repository paths. */
export function importGraph(root: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const top of ["lib", "labs", "exercises", "scripts"]) {
    for (const file of sourceFiles(root, top)) {
      const text = readFileSync(join(root, file), "utf8");
      const targets: string[] = [];
      for (const m of text.matchAll(IMPORT)) {
        const spec = m[1] ?? m[2];
        if (!spec.startsWith(".")) continue;
        targets.push(relative(root, resolve(root, dirname(file), spec)));
      }
      graph.set(file, targets);
    }
  }
  return graph;
}

/** Circles in the graph (Tarjan's strongly connected components of more than one module, or a self-import). */
function circles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(scc.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!idx.has(v)) visit(v);
  return out;
}

/** Every violation of the layering in the tree at `root`. */
export function checkImports(root: string): Violation[] {
  const graph = importGraph(root);
  const out: Violation[] = [];
  for (const [from, targets] of graph) {
    const a = layerOf(from);
    if (a === undefined) {
      out.push({
        kind: "unknown-folder",
        files: [from],
        message: `${from}: its folder has no layer in LAYERS`,
      });
      continue;
    }
    for (const to of targets) {
      const b = layerOf(to);
      if (b === undefined || a === b) continue;
      if (LAYERS[b] > LAYERS[a]) {
        out.push({
          kind: "upward",
          files: [from, to],
          message: `${from} imports ${to}: ${a} (layer ${LAYERS[a]}) may not import ${b} (layer ${
            LAYERS[b]
          })`,
        });
      } else if (LAYERS[b] === LAYERS[a]) {
        out.push({
          kind: "sibling",
          files: [from, to],
          message: `${from} imports ${to}: ${a} and ${b} are siblings (layer ${LAYERS[a]})`,
        });
      }
    }
  }
  for (const c of circles(graph)) {
    out.push({ kind: "circle", files: c, message: `circle: ${c.join(" → ")} → ${c[0]}` });
  }
  return out;
}

if (import.meta.main) {
  const root = resolve(dirname(new URL(import.meta.url).pathname), "..");
  const found = checkImports(root);
  for (const v of found) console.log(v.message);
  console.log(
    found.length === 0
      ? "imports: every layer imports downwards, no circles"
      : `imports: ${found.length} violations`,
  );
  if (found.length) process.exit(1);
}
