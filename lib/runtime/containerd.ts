/**
 * containerd's CRI CNI settings, read from a real containerd `config.toml` — the chapter's "Container
 * Runtime Integration" section — and containerd's `conf_template` mechanism.
 *
 * Where the `[cni]` table lives depends on the config's `version`:
 * - version 1: `[plugins.cri.cni]`
 * - version 2 (containerd 1.x): `[plugins."io.containerd.grpc.v1.cri".cni]`
 * - version 3 (containerd 2.x): `[plugins."io.containerd.cri.v1.runtime".cni]`
 *
 * Keys: `bin_dir` (deprecated in 2.x for `bin_dirs`), `bin_dirs`, `conf_dir`, `max_conf_num`,
 * `conf_template`, `setup_serially`, `use_internal_loopback`; containerd's defaults when absent.
 * @module
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseToml } from "smol-toml";
import { loadConfDir } from "./conf.ts";
import type { CniNetworksOptions } from "./types.ts";
import { randomHex } from "../util/mod.ts";

/** The CRI `[cni]` settings cnilab uses. */
export interface ContainerdCniSettings {
  /** `bin_dirs`, or `[bin_dir]`. */
  binDirs: string[];
  confDir: string;
  maxConfNum: number;
  /** Path of a Go text/template file, or "" (none). */
  confTemplate: string;
  setupSerially: boolean;
  /** containerd brings `lo` up itself instead of running the loopback plugin. */
  useInternalLoopback: boolean;
  /** Which table the settings came from (undefined: none found, all defaults). */
  section?: string;
  /** The config file read. */
  file?: string;
}

/** containerd's defaults for the CRI `[cni]` table. */
export const CONTAINERD_CNI_DEFAULTS: Readonly<ContainerdCniSettings> = Object.freeze({
  binDirs: ["/opt/cni/bin"],
  confDir: "/etc/cni/net.d",
  maxConfNum: 1,
  confTemplate: "",
  setupSerially: false,
  useInternalLoopback: false,
});

/** The file containerd reads by default. */
export const DEFAULT_CONTAINERD_CONFIG = "/etc/containerd/config.toml";

const SECTIONS: { version: number; path: string[]; label: string }[] = [
  {
    version: 3,
    path: ["plugins", "io.containerd.cri.v1.runtime", "cni"],
    label: 'plugins."io.containerd.cri.v1.runtime".cni',
  },
  {
    version: 2,
    path: ["plugins", "io.containerd.grpc.v1.cri", "cni"],
    label: 'plugins."io.containerd.grpc.v1.cri".cni',
  },
  { version: 1, path: ["plugins", "cri", "cni"], label: "plugins.cri.cni" },
];

function dig(obj: unknown, path: string[]): Record<string, unknown> | undefined {
  let cur: unknown = obj;
  for (const key of path) {
    if (typeof cur !== "object" || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return typeof cur === "object" && cur !== null && !Array.isArray(cur)
    ? cur as Record<string, unknown>
    : undefined;
}

function typed<T>(table: Record<string, unknown>, key: string, type: string, where: string): T | undefined {
  const v = table[key];
  if (v === undefined) return undefined;
  const actual = Array.isArray(v) ? "array" : typeof v === "bigint" ? "number" : typeof v;
  if (actual !== type) throw new Error(`${where}: ${key} must be a ${type}, not ${JSON.stringify(v)}`);
  return (typeof v === "bigint" ? Number(v) : v) as T;
}

/**
 * The CRI `[cni]` settings in a config.toml text. Picks the table for the file's `version` (or, without
 * `version`, the first present of v3, v2, v1). Rejects `bin_dir` and `bin_dirs` set to different values
 * together, as containerd does.
 */
export function parseContainerdConfig(text: string, file?: string): ContainerdCniSettings {
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text) as Record<string, unknown>;
  } catch (error) {
    throw new Error(`cannot parse containerd config ${file ?? ""}: ${(error as Error).message}`);
  }
  const version = typeof doc.version === "number" || typeof doc.version === "bigint"
    ? Number(doc.version)
    : undefined;
  const candidates = version ? SECTIONS.filter((s) => s.version === version) : SECTIONS;
  const found = candidates.map((s) => ({ s, table: dig(doc, s.path) })).find((c) => c.table);
  const out: ContainerdCniSettings = {
    ...CONTAINERD_CNI_DEFAULTS,
    binDirs: [...CONTAINERD_CNI_DEFAULTS.binDirs],
    file,
  };
  if (!found?.table) return out;
  const t = found.table;
  const where = `[${found.s.label}]${file ? ` in ${file}` : ""}`;
  out.section = found.s.label;
  const binDir = typed<string>(t, "bin_dir", "string", where);
  const binDirs = typed<unknown[]>(t, "bin_dirs", "array", where);
  if (binDirs && binDirs.some((d) => typeof d !== "string")) {
    throw new Error(`${where}: bin_dirs must list strings`);
  }
  if (binDir && binDirs && binDirs.length > 0) {
    const same = binDirs.length === 1 && binDirs[0] === binDir;
    if (!same) {
      throw new Error(`${where}: \`cni.bin_dir\` and \`cni.bin_dirs\` cannot be set at the same time`);
    }
  }
  if (binDirs && binDirs.length > 0) out.binDirs = binDirs as string[];
  else if (binDir) out.binDirs = [binDir];
  out.confDir = typed<string>(t, "conf_dir", "string", where) || out.confDir;
  out.maxConfNum = typed<number>(t, "max_conf_num", "number", where) ?? out.maxConfNum;
  out.confTemplate = typed<string>(t, "conf_template", "string", where) ?? "";
  out.setupSerially = typed<boolean>(t, "setup_serially", "boolean", where) ?? false;
  out.useInternalLoopback = typed<boolean>(t, "use_internal_loopback", "boolean", where) ?? false;
  return out;
}

/** Reads a containerd config.toml; a missing file means containerd's defaults (as containerd itself). */
export function readContainerdConfig(file = DEFAULT_CONTAINERD_CONFIG): ContainerdCniSettings {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      return { ...CONTAINERD_CNI_DEFAULTS, binDirs: ["/opt/cni/bin"], file };
    }
    throw error;
  }
  return parseContainerdConfig(text, file);
}

/** The options of `CniNetworks.load` that reproduce these settings. */
export function toNetworkOptions(s: ContainerdCniSettings): CniNetworksOptions {
  return {
    binDirs: s.binDirs,
    confDir: s.confDir,
    maxConfNum: s.maxConfNum,
    setupSerially: s.setupSerially,
    // use_internal_loopback: containerd sets lo up itself; cnilab then simply skips the loopback plugin
    loopback: !s.useInternalLoopback,
  };
}

// ---------------------------------------------------------------------------------------------------
// conf_template

/** The values containerd hands to the template (its `cniConfigTemplate`). */
export interface ConfTemplateData {
  PodCIDR: string;
  PodCIDRRanges: string[];
  Routes: string[];
}

/** The file containerd writes from the template. */
export const TEMPLATE_CONF_NAME = "10-containerd-net.conflist";

/** containerd's `getRoutes`: a default route per address family present in the pod CIDRs. */
export function templateRoutes(cidrs: string[]): string[] {
  const routes: string[] = [];
  for (const c of cidrs) {
    if (!/^[0-9a-fA-F:.]+\/\d{1,3}$/.test(c)) throw new Error(`invalid pod CIDR ${JSON.stringify(c)}`);
  }
  if (cidrs.some((c) => !c.includes(":"))) routes.push("0.0.0.0/0");
  if (cidrs.some((c) => c.includes(":"))) routes.push("::/0");
  return routes;
}

/** containerd's data from the kubelet's `podCIDR` (comma-separated): the first is `PodCIDR`. */
export function templateData(podCIDRs: string): ConfTemplateData {
  const cidrs = podCIDRs.split(",").map((c) => c.trim()).filter(Boolean);
  if (cidrs.length === 0) throw new Error("no pod CIDR given");
  return { PodCIDR: cidrs[0], PodCIDRRanges: cidrs, Routes: templateRoutes(cidrs) };
}

type Node =
  | { kind: "text"; text: string }
  | { kind: "out"; expr: string }
  | { kind: "range"; index?: string; elem?: string; expr: string; body: Node[]; alt: Node[] }
  | { kind: "if"; expr: string; body: Node[]; alt: Node[] };

/**
 * Renders the subset of Go's text/template that containerd's conf templates use: `{{.Field}}`, `{{.}}`,
 * `{{$var}}`, `{{range $i, $x := .Field}}…{{end}}` (also `{{range .Field}}` and `{{range $x := .Field}}`),
 * `{{if EXPR}}…{{else}}…{{end}}`, comments `{{/* … *\/}}` and the `{{-`/`-}}` whitespace trims. Anything
 * else (pipelines, functions, `with`, `define`) is rejected with an error naming the action.
 */
export function renderConfTemplate(template: string, data: ConfTemplateData): string {
  const tokens: ({ text: string } | { action: string })[] = [];
  let i = 0;
  while (i < template.length) {
    const open = template.indexOf("{{", i);
    if (open < 0) {
      tokens.push({ text: template.slice(i) });
      break;
    }
    const close = template.indexOf("}}", open + 2);
    if (close < 0) throw new Error("conf_template: unclosed {{");
    let text = template.slice(i, open);
    let action = template.slice(open + 2, close);
    if (action.startsWith("- ") || action === "-") {
      text = text.replace(/\s+$/, "");
      action = action.slice(1);
    }
    let trimNext = false;
    if (action.endsWith(" -") || action === "-") {
      trimNext = true;
      action = action.slice(0, -1);
    }
    tokens.push({ text }, { action: action.trim() });
    i = close + 2;
    if (trimNext) { while (i < template.length && /\s/.test(template[i])) i++; }
  }

  let pos = 0;
  const parse = (stopAt: string[]): { nodes: Node[]; stop?: string } => {
    const nodes: Node[] = [];
    while (pos < tokens.length) {
      const t = tokens[pos++];
      if ("text" in t) {
        if (t.text) nodes.push({ kind: "text", text: t.text });
        continue;
      }
      const a = t.action;
      if (a.startsWith("/*") && a.endsWith("*/")) continue;
      if (stopAt.includes(a)) return { nodes, stop: a };
      let m;
      if ((m = a.match(/^range\s+(?:(\$\w+)\s*,\s*(\$\w+)\s*:=\s*|(\$\w+)\s*:=\s*)?(\.\w*|\$\w+)$/))) {
        const body = parse(["end", "else"]);
        const alt = body.stop === "else" ? parse(["end"]).nodes : [];
        nodes.push({
          kind: "range",
          index: m[1],
          elem: m[2] ?? m[3],
          expr: m[4],
          body: body.nodes,
          alt,
        });
      } else if ((m = a.match(/^if\s+(\.\w*|\$\w+)$/))) {
        const body = parse(["end", "else"]);
        const alt = body.stop === "else" ? parse(["end"]).nodes : [];
        nodes.push({ kind: "if", expr: m[1], body: body.nodes, alt });
      } else if (/^(\.\w*|\$\w+)$/.test(a)) {
        nodes.push({ kind: "out", expr: a });
      } else {
        throw new Error(`conf_template: {{${a}}} is outside the template subset cnilab implements`);
      }
    }
    if (stopAt.length > 0) throw new Error(`conf_template: missing {{end}}`);
    return { nodes };
  };
  const root = parse([]).nodes;

  const lookup = (expr: string, dot: unknown, vars: Map<string, unknown>): unknown => {
    if (expr === ".") return dot;
    if (expr.startsWith("$")) {
      if (!vars.has(expr)) throw new Error(`conf_template: undefined variable ${expr}`);
      return vars.get(expr);
    }
    const field = expr.slice(1);
    if (typeof dot !== "object" || dot === null || !(field in dot)) {
      throw new Error(`conf_template: can't evaluate field ${field}`);
    }
    return (dot as Record<string, unknown>)[field];
  };
  const show = (v: unknown): string => Array.isArray(v) ? `[${v.map(show).join(" ")}]` : String(v);
  const truthy = (v: unknown): boolean =>
    Array.isArray(v)
      ? v.length > 0
      : typeof v === "number"
      ? v !== 0
      : typeof v === "string"
      ? v !== ""
      : Boolean(v);
  const exec = (nodes: Node[], dot: unknown, vars: Map<string, unknown>): string => {
    let out = "";
    for (const n of nodes) {
      if (n.kind === "text") out += n.text;
      else if (n.kind === "out") out += show(lookup(n.expr, dot, vars));
      else if (n.kind === "if") out += exec(truthy(lookup(n.expr, dot, vars)) ? n.body : n.alt, dot, vars);
      else {
        const list = lookup(n.expr, dot, vars);
        if (!Array.isArray(list)) throw new Error(`conf_template: range over non-list ${n.expr}`);
        if (list.length === 0) out += exec(n.alt, dot, vars);
        list.forEach((elem, idx) => {
          const inner = new Map(vars);
          if (n.index) inner.set(n.index, idx);
          if (n.elem) inner.set(n.elem, elem);
          out += exec(n.body, elem, inner);
        });
      }
    }
    return out;
  };
  return exec(root, data, new Map([["$", data]]));
}

/**
 * containerd's `UpdateRuntimeConfig` path: when `conf_template` is set and the conf dir holds no usable
 * config yet, render the template with the pod CIDRs and write `<conf_dir>/10-containerd-net.conflist`
 * atomically (mode 0644). Returns the file written, or undefined when nothing was needed (no template, or
 * the conf dir already loads).
 */
export function applyConfTemplate(settings: ContainerdCniSettings, podCIDRs: string): string | undefined {
  if (!settings.confTemplate) return undefined;
  try {
    loadConfDir(settings.confDir, { maxConfNum: settings.maxConfNum });
    return undefined; // "CNI config is successfully loaded, skip generating cni config from template"
  } catch {
    // not ready: generate
  }
  const template = readFileSync(settings.confTemplate, "utf8");
  const text = renderConfTemplate(template, templateData(podCIDRs));
  mkdirSync(settings.confDir, { recursive: true, mode: 0o755 });
  const file = join(settings.confDir, TEMPLATE_CONF_NAME);
  const tmp = join(settings.confDir, `.${TEMPLATE_CONF_NAME}.${randomHex(4)}`);
  try {
    writeFileSync(tmp, text, { mode: 0o644 });
    renameSync(tmp, file);
  } finally {
    rmSync(tmp, { force: true });
  }
  return file;
}
