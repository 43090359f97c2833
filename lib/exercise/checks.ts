/**
 * The checks of an exercise: each reads the real state (through lib/iproute2, the files, the CNI runtime's
 * own config discovery, the sandbox runtime's state) and says what it looked at as a command the attendee
 * can run by hand. Declarative kinds, one key each, as written in checks.yaml:
 *
 * | key | what it checks |
 * |---|---|
 * | `require: PATH` / `require_link: NAME` | something the exercise needs exists, else "could not check" (`because:` says why) |
 * | `process: PID`, `alive` | a process runs (or, with `alive: false`, is gone; a zombie counts as gone) |
 * | `read: FILE`, `as` | a JSON file the exercise wrote (else "could not check"); binds `${as.key}` |
 * | `find: netns\|link`, `match`, `where: {master, kind, up}`, `as`, `count` | exactly one (or `count`) namespace/link matches; binds `${as}` |
 * | `link: NAME`, `netns`, `expect: {kind, up, master}` | a link's properties |
 * | `addr: DEV`, `netns`, `has: CIDR` or `in: SUBNET`, `as` | an address on a link |
 * | `route: DST`, `netns`, `via`, `dev` | a route |
 * | `ping: ADDR`, `from: NETNS` | one echo reply (only to loopback or inside the exercise's own objects) |
 * | `file: PATH`, `exists`, `executable`, `contains`, `line`, `json: {a.b: value}`, `same_as: PATH` | a file |
 * | `files: DIR`, `match`, `count` | how many entries of a directory match |
 * | `run: [argv]`, `env`, `stdin`, `exit`, `stdout_has`, `as` | a command's exit code and output |
 * | `conf: DIR`, `max_conf_num`, `names`, `expect: {a.b: value}` | the networks containerd's go-cni loads from a conf dir; fields of the first |
 * | `containerd: FILE`, `as` | a containerd config.toml's CRI `[cni]` table; binds `${as.conf_dir}` … |
 * | `plugins: DIR`, `bin_dirs`, `max_conf_num` | every plugin the loaded networks name is found and answers VERSION |
 * | `pod: NS/NAME`, `running`, `shared_netns`, `as` | a pod of `cnilab pod`; binds `${as.ip}`, `${as.netns}` … |
 * | `code: NAME` | a check written in the exercise's checks.ts |
 *
 * Every check may carry `name` (what it proves, for people) and `hint`. A failing check reports what it
 * observed (`observed`: "eth0 in cni-exw-… has no address"), never how to fix it: the check's `hint` (which
 * may name commands) is shown only by `check --explain`, and the exercise's hints by `cnilab exercise hint`.
 * @module
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { Address4 } from "ip-address";
import { addr, link, netns, route, type Where } from "../iproute2/mod.ts";
import { run } from "../shell/mod.ts";
import { type CheckSpec, CNILAB, type Exercise, started, substitute } from "./mod.ts";

/** What one check found. `broken`: the environment is not as the exercise needs it (exit 2). */
export interface CheckResult {
  name: string;
  /** What it looked at, as a command the attendee can run. */
  command: string;
  status: "pass" | "fail" | "broken" | "skip";
  expected?: string;
  actual?: string;
  /** What the check found, as a sentence about the state ("ext-b has no master and is down"). */
  observed?: string;
  /** How to get on (may name commands): shown only with `check --explain`, or for "could not check". */
  hint?: string;
}

/** What a check in an exercise's checks.ts gets. */
export interface CheckContext {
  ex: Exercise;
  /** Variables, including those bound by earlier checks. */
  vars: Record<string, string>;
  /** Substitutes variables in a string. */
  sub(text: string): string;
}

/** A check written in code (exported from an exercise's checks.ts, under `checks`). */
export type CodeCheck = (ctx: CheckContext) => Promise<CheckResult[]>;

/** The three verdicts, with their exit codes. */
export type Verdict = "passed" | "not yet" | "could not check";

/** The verdict of a set of results, and its exit code (0 passed, 1 not yet, 2 could not check). */
export function verdictOf(results: CheckResult[]): { verdict: Verdict; code: 0 | 1 | 2 } {
  if (results.some((r) => r.status === "broken")) return { verdict: "could not check", code: 2 };
  if (results.some((r) => r.status !== "pass")) return { verdict: "not yet", code: 1 };
  return { verdict: "passed", code: 0 };
}

/** True while the process runs (a zombie, which no parent reaped yet, counts as gone). */
function processAliveNow(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(")") + 2));
  } catch {
    return false;
  }
}

const show = (v: unknown): string => (typeof v === "string" ? v : JSON.stringify(v));

/** A passing or failing result from a comparison. */
export function compare(
  name: string,
  command: string,
  actual: unknown,
  expected: unknown,
  hint?: string,
  observed?: string,
): CheckResult {
  const ok = JSON.stringify(actual) === JSON.stringify(expected);
  return ok ? { name, command, status: "pass" } : {
    name,
    command,
    status: "fail",
    expected: show(expected),
    actual: actual === undefined ? "nothing" : show(actual),
    observed,
    hint,
  };
}

function ipCmd(args: string, ns?: string): string {
  return `ip ${ns ? `-n ${ns} ` : ""}${args}`;
}

function where(ns?: string): Where | undefined {
  return ns ? { netns: ns } : undefined;
}

const UUID_RE = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";

/** A name pattern as people read it: `^cni-exw-<uuid>$` → `cni-exw-<uuid>`, `^exw` → `exw…`. */
export function describePattern(source: string): string {
  let text = source.replaceAll(UUID_RE, "<uuid>").replace(/\\(.)/g, "$1");
  const anchoredEnd = text.endsWith("$");
  text = text.replace(/^\^/, "").replace(/\$$/, "");
  return anchoredEnd ? text : `${text}…`;
}

/** `a`, `a and b`, `a, b and c` */
function listing(items: string[]): string {
  return items.length <= 1 ? items.join("") : `${items.slice(0, -1).join(", ")} and ${items.at(-1)}`;
}

/** " in NETNS" (or nothing for the host). */
function inNs(ns?: string): string {
  return ns ? ` in ${ns}` : "";
}

/** How a link differs from the wanted properties: ["has no master", "is down"]. */
export function linkDifferences(l: Record<string, unknown>, wanted: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const [k, want] of Object.entries(wanted)) {
    const have = l[k] ?? null;
    if (JSON.stringify(have) === JSON.stringify(want)) continue;
    if (k === "master") out.push(have === null ? "has no master" : `is on ${have}, not ${want}`);
    else if (k === "up") out.push(want ? "is down" : "is up");
    else if (k === "kind") out.push(have === null ? `is not a ${want}` : `is a ${have}, not a ${want}`);
    else out.push(`has ${k} ${show(have)}, not ${show(want)}`);
  }
  return out;
}

async function nsMissing(
  ns: string | undefined,
  name: string,
  command: string,
): Promise<CheckResult | undefined> {
  if (!ns || await netns.exists(ns)) return undefined;
  return {
    name,
    command,
    status: "fail",
    expected: `namespace ${ns}`,
    actual: "no such namespace",
    observed: `there is no network namespace ${ns}`,
  };
}

/**
 * Addresses a check may send traffic to: loopback, and addresses inside the exercise's own namespaces,
 * on its own host links, or of its own pods. Anything else is refused.
 */
async function allowedTargets(ex: Exercise): Promise<Set<string>> {
  const out = new Set<string>();
  const nsNames = (await netns.list()).map((n) => n.name).filter((n) =>
    ex.names.netns.some((p) => new RegExp(p).test(n))
  );
  if (ex.names.pods.length > 0) {
    const { listPodSandbox } = await import("../sandbox/mod.ts");
    for (const s of listPodSandbox()) if (ex.names.pods.includes(s.namespace)) nsNames.push(s.netns.name);
  }
  for (const ns of nsNames) for (const a of await addr.list({ netns: ns })) out.add(a.local);
  for (const a of await addr.list()) {
    if (ex.names.links.some((p) => new RegExp(p).test(a.dev))) out.add(a.local);
  }
  return out;
}

/** Sends one ping (the exercise's own addresses or loopback only); true on a reply. */
export async function pingOnce(
  ex: Exercise,
  to: string,
  from?: string,
): Promise<{ ok: boolean; command: string; refused?: string }> {
  const argv = ["ping", "-c", "1", "-W", "1", to];
  const command = from ? `ip netns exec ${from} ${argv.join(" ")}` : argv.join(" ");
  const loopback = /^127\./.test(to) || to === "::1";
  if (!loopback && !(await allowedTargets(ex)).has(to)) {
    return {
      ok: false,
      command,
      refused: `not pinged: ${to} is not (yet) an address inside this exercise's own namespaces or links`,
    };
  }
  const r = from
    ? await netns.exec(from, argv, { check: false, purpose: "read", timeoutMs: 5000 })
    : await run(argv, { check: false, purpose: "read", timeoutMs: 5000 });
  return { ok: r.code === 0, command };
}

/** `plugins.0.type` → `.plugins[0].type` (how jq spells it). */
function jqPath(path: string): string {
  return path.split(".").map((k) => (/^\d+$/.test(k) ? `[${k}]` : `.${k}`)).join("");
}

function dig(value: unknown, path: string): unknown {
  let cur = value;
  for (const key of path.split(".")) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[/^\d+$/.test(key) && Array.isArray(cur) ? Number(key) : key];
  }
  return cur;
}

/**
 * Runs a command with text on stdin through `sh` (`printf | cmd`). Through lib/shell's dax backend, a
 * command that exits without reading its stdin (a plugin answering VERSION) races the stdin write and is
 * reported as exit 1 "stdin pipe broken" (seen here); a shell pipe has no such race.
 */
export function runPiped(
  argv: string[],
  stdin: string,
  opts: { env?: Record<string, string>; timeoutMs?: number } = {},
) {
  return run(["sh", "-c", 'printf "%s" "$0" | "$@"', stdin, ...argv], {
    env: opts.env,
    check: false,
    purpose: "read",
    timeoutMs: opts.timeoutMs,
  });
}

type Kind = (spec: CheckSpec, ctx: CheckContext) => Promise<CheckResult[]>;

const str = (ctx: CheckContext, v: unknown): string | undefined =>
  v === undefined ? undefined : ctx.sub(String(v));

const KINDS: Record<string, Kind> = {
  require(spec, ctx) {
    const path = str(ctx, spec.require)!;
    const ok = existsSync(path);
    return Promise.resolve([{
      name: spec.name ?? `${path} exists`,
      command: `ls -ld ${path}`,
      status: ok ? "pass" : "broken",
      actual: ok
        ? undefined
        : `${path} is missing${spec.because ? `: ${ctx.sub(String(spec.because))}` : ""}`,
      hint: ok
        ? undefined
        : `run 'cnilab exercise reset ${ctx.ex.id}' then 'cnilab exercise start ${ctx.ex.id}'`,
    }]);
  },

  async require_link(spec, ctx) {
    const name = str(ctx, spec.require_link)!;
    const ok = (await link.get(name)) !== undefined;
    return [{
      name: spec.name ?? `link ${name} exists`,
      command: ipCmd(`link show ${name}`),
      status: ok ? "pass" : "broken",
      actual: ok
        ? undefined
        : `link ${name} is missing${spec.because ? `: ${ctx.sub(String(spec.because))}` : ""}`,
      hint: ok
        ? undefined
        : `run 'cnilab exercise reset ${ctx.ex.id}' then 'cnilab exercise start ${ctx.ex.id}'`,
    }];
  },

  process(spec, ctx) {
    const pid = Number(str(ctx, spec.process));
    const want = spec.alive === undefined ? true : Boolean(spec.alive);
    const alive = processAliveNow(pid);
    return Promise.resolve([compare(
      spec.name ?? `process ${pid} ${want ? "runs" : "is gone"}`,
      `ps -o pid,stat,comm -p ${pid}`,
      alive ? "running" : "gone",
      want ? "running" : "gone",
      spec.hint,
      alive ? `process ${pid} still runs` : `process ${pid} is not running`,
    )]);
  },

  read(spec, ctx) {
    const file = str(ctx, spec.read)!;
    const as = String(spec.as ?? "json");
    const title = spec.name ?? `${file} is readable`;
    let value: unknown;
    try {
      value = JSON.parse(readFileSync(file, "utf8"));
    } catch (error) {
      return Promise.resolve([{
        name: title,
        command: `cat ${file}`,
        status: "broken",
        actual: `${file}: ${(error as Error).message}`,
        hint: `run 'cnilab exercise reset ${ctx.ex.id}' then 'cnilab exercise start ${ctx.ex.id}'`,
      }]);
    }
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (typeof v !== "object") ctx.vars[`${as}.${k}`] = String(v);
    }
    return Promise.resolve([{ name: title, command: `cat ${file}`, status: "pass" }]);
  },

  async find(spec, ctx) {
    const what = String(spec.find);
    const re = new RegExp(ctx.sub(String(spec.match)));
    const ns = str(ctx, spec.netns);
    const want = spec.count === undefined ? 1 : Number(spec.count);
    const command = what === "netns" ? "ip -json netns list" : ipCmd("-json link show", ns);
    const filter = Object.entries((spec.where ?? {}) as Record<string, unknown>)
      .map(([k, v]) => [k, typeof v === "string" ? ctx.sub(v) : v] as const);
    const links = what === "netns" ? [] : await link.list(where(ns));
    const fits = (l: unknown) => filter.every(([k, v]) => (l as Record<string, unknown>)[k] === v);
    const names = what === "netns" ? (await netns.list()).map((n) => n.name) : links
      .filter(fits)
      .map((l) => l.name);
    const found = names.filter((n) => re.test(n));
    const name = spec.name ?? `${want === 1 ? "one" : want} ${what} named like /${re.source}/`;
    if (found.length === want) {
      if (spec.as && found.length === 1) ctx.vars[String(spec.as)] = found[0];
      return [{ name, command, status: "pass" }];
    }
    const like = describePattern(re.source);
    const wanted = Object.fromEntries(filter);
    const thing = what === "netns" ? "namespace" : String(wanted.kind ?? "link");
    const expectText = `${want} ${thing}${want === 1 ? "" : "s"} named ${like} expected${
      wanted.master ? ` on ${wanted.master}` : ""
    }${inNs(ns)}${wanted.up === true ? " (up)" : ""}`;
    let observed: string;
    if (found.length > want) {
      observed = `${expectText}: ${listing(found)} ${found.length === 1 ? "exists" : "exist"}`;
    } else {
      // near misses: named right (and of the right kind) but not as wanted, or as wanted but named otherwise
      const named = links.filter((l) =>
        re.test(l.name) && !fits(l) && (!wanted.kind || l.kind === wanted.kind)
      );
      const unnamed = links.filter((l) => !re.test(l.name) && fits(l) && filter.length > 0);
      const misses = [
        ...named.map((l) =>
          `${l.name} exists but ${listing(linkDifferences(l as unknown as Record<string, unknown>, wanted))}`
        ),
        ...unnamed.map((l) => `${l.name} fits but is not named ${like}`),
      ];
      if (found.length === 0 && misses.length === 0) {
        observed = filter.length
          ? `${expectText}: there is none`
          : `there is no ${thing} named ${like}${inNs(ns)}`;
      } else {
        observed = `${expectText}: ${found.length ? `only ${listing(found)}` : misses.join("; ")}`;
        if (found.length && misses.length) observed += `; ${misses.join("; ")}`;
      }
    }
    return [{
      name,
      command,
      status: "fail",
      expected: `${want} match${want === 1 ? "" : "es"}`,
      actual: found.length === 0 ? "none" : found.join(", "),
      observed,
      hint: spec.hint,
    }];
  },

  async link(spec, ctx) {
    const name = str(ctx, spec.link)!;
    const ns = str(ctx, spec.netns);
    const command = ipCmd(`-json -details link show ${name}`, ns);
    const title = spec.name ?? `${ns ? `${ns}: ` : ""}link ${name}`;
    const missing = await nsMissing(ns, title, command);
    if (missing) return [missing];
    const l = await link.get(name, where(ns));
    if (!l) {
      return [{
        name: title,
        command,
        status: "fail",
        expected: `link ${name}`,
        actual: "no such link",
        observed: `there is no link ${name}${inNs(ns)}`,
        hint: spec.hint,
      }];
    }
    const expect = (spec.expect ?? {}) as Record<string, unknown>;
    const actual: Record<string, unknown> = {};
    const wanted: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(expect)) {
      wanted[k] = typeof v === "string" ? ctx.sub(v) : v;
      actual[k] = (l as unknown as Record<string, unknown>)[k] ?? null;
    }
    const diffs = linkDifferences(l as unknown as Record<string, unknown>, wanted);
    return [compare(title, command, actual, wanted, spec.hint, `${name}${inNs(ns)} ${listing(diffs)}`)];
  },

  async addr(spec, ctx) {
    const dev = str(ctx, spec.addr)!;
    const ns = str(ctx, spec.netns);
    const command = ipCmd(`-json addr show dev ${dev}`, ns);
    const has = str(ctx, spec.has);
    const inSubnet = str(ctx, spec.in);
    const title = spec.name ?? `${ns ? `${ns}: ` : ""}${dev} has ${has ?? `an address in ${inSubnet}`}`;
    const missing = await nsMissing(ns, title, command);
    if (missing) return [missing];
    const exists = (await link.get(dev, where(ns))) !== undefined;
    const list = exists ? await addr.list({ ...where(ns), dev, family: 4 }) : [];
    const cidrs = list.map((a) => a.cidr);
    const holds = !exists
      ? `there is no link ${dev}${inNs(ns)}`
      : cidrs.length === 0
      ? `${dev}${inNs(ns)} has no address`
      : `${dev}${inNs(ns)} holds ${cidrs.join(", ")}`;
    const actual = cidrs.length
      ? cidrs.join(", ")
      : `no IPv4 address${list.length === 0 ? " (or no such link)" : ""}`;
    if (has) {
      return [
        cidrs.includes(has) ? { name: title, command, status: "pass" } : {
          name: title,
          command,
          status: "fail",
          expected: has,
          actual,
          observed: exists && cidrs.length ? `${holds}, not ${has}` : holds,
          hint: spec.hint,
        },
      ];
    }
    const subnet = new Address4(inSubnet!);
    const hit = list.find((a) => new Address4(a.local).isInSubnet(subnet));
    if (hit && spec.as) ctx.vars[String(spec.as)] = hit.local;
    return [
      hit ? { name: title, command, status: "pass" } : {
        name: title,
        command,
        status: "fail",
        expected: `an address in ${inSubnet}`,
        actual,
        observed: exists && cidrs.length ? `${holds}, none in ${inSubnet}` : holds,
        hint: spec.hint,
      },
    ];
  },

  async route(spec, ctx) {
    const dst = str(ctx, spec.route)!;
    const ns = str(ctx, spec.netns);
    const command = ipCmd("-json route show", ns);
    const via = str(ctx, spec.via);
    const dev = str(ctx, spec.dev);
    const title = spec.name ??
      `${ns ? `${ns}: ` : ""}route ${dst}${via ? ` via ${via}` : ""}${dev ? ` dev ${dev}` : ""}`;
    const missing = await nsMissing(ns, title, command);
    if (missing) return [missing];
    const routes = await route.list(where(ns));
    const ok = routes.some((r) => r.dst === dst && (!via || r.via === via) && (!dev || r.dev === dev));
    const text = routes.map((r) =>
      [r.dst, r.via && `via ${r.via}`, r.dev && `dev ${r.dev}`].filter(Boolean).join(" ")
    );
    return [
      ok ? { name: title, command, status: "pass" } : {
        name: title,
        command,
        status: "fail",
        expected: [dst, via && `via ${via}`, dev && `dev ${dev}`].filter(Boolean).join(" "),
        actual: text.length ? text.join("; ") : "no routes",
        observed: text.length
          ? `${ns ?? "the host"} has no route ${
            [dst, via && `via ${via}`, dev && `dev ${dev}`].filter(Boolean).join(" ")
          } (its routes: ${text.join("; ")})`
          : `${ns ?? "the host"} has no routes`,
        hint: spec.hint,
      },
    ];
  },

  async ping(spec, ctx) {
    const to = str(ctx, spec.ping)!;
    const from = str(ctx, spec.from);
    const title = spec.name ?? `${from ? from : "host"} reaches ${to}`;
    if (from && !(await netns.exists(from))) {
      return [{
        name: title,
        command: `ip netns exec ${from} ping -c 1 -W 1 ${to}`,
        status: "fail",
        expected: "reply",
        actual: `no namespace ${from}`,
        observed: `there is no network namespace ${from}`,
      }];
    }
    const r = await pingOnce(ctx.ex, to, from);
    if (r.refused) {
      return [{
        name: title,
        command: r.command,
        status: "fail",
        expected: "reply",
        actual: r.refused,
        observed: r.refused,
        hint: spec.hint,
      }];
    }
    return [
      compare(
        title,
        r.command,
        r.ok ? "reply" : "no reply",
        "reply",
        spec.hint,
        `no reply to a ping from ${from ?? "the host"} to ${to}`,
      ),
    ];
  },

  file(spec, ctx) {
    const path = str(ctx, spec.file)!;
    const exists = existsSync(path);
    const wantExists = spec.exists === undefined ? true : Boolean(spec.exists);
    const title = spec.name ?? `${path} ${wantExists ? "exists" : "is gone"}`;
    if (!wantExists || !exists) {
      return Promise.resolve([
        compare(
          title,
          `ls -l ${path}`,
          exists ? "exists" : "absent",
          wantExists ? "exists" : "absent",
          spec.hint,
          exists ? `${path} still exists` : `${path} does not exist`,
        ),
      ]);
    }
    const out: CheckResult[] = [];
    if (spec.executable) {
      const mode = statSync(path).mode;
      const isFile = statSync(path).isFile();
      out.push(
        compare(
          title,
          `ls -l ${path}`,
          isFile && (mode & 0o111) !== 0 ? "executable" : "not executable",
          "executable",
          spec.hint,
          isFile ? `${path} is not executable` : `${path} is not a regular file`,
        ),
      );
    }
    const text = spec.contains === undefined && spec.json === undefined && spec.same_as === undefined &&
        spec.line === undefined
      ? ""
      : readFileSync(path, "utf8");
    if (spec.line !== undefined) {
      const want = ctx.sub(String(spec.line));
      // the observation names the line's key, never its value: the value may be what the task asks to find
      const key = /^[^=:]*[=:]/.exec(want)?.[0];
      const keyed = key ? text.split("\n").filter((l) => l.startsWith(key)) : [];
      out.push(
        compare(
          title,
          `grep -x '${want}' ${path}`,
          text.split("\n").includes(want) ? want : "no such line",
          want,
          spec.hint,
          key
            ? keyed.length ? `${keyed.join(", ")} in ${path} is not right` : `${path} has no line ${key}…`
            : `${path} lacks the line it needs`,
        ),
      );
    }
    if (spec.contains !== undefined) {
      const want = ctx.sub(String(spec.contains));
      out.push(
        text.includes(want) ? { name: title, command: `cat ${path}`, status: "pass" } : {
          name: title,
          command: `cat ${path}`,
          status: "fail",
          expected: `text containing ${JSON.stringify(want)}`,
          actual: JSON.stringify(text.slice(0, 160)),
          observed: `${path} does not contain ${want}`,
          hint: spec.hint,
        },
      );
    }
    if (spec.same_as !== undefined) {
      const other = ctx.sub(String(spec.same_as));
      const same = existsSync(other) && readFileSync(other, "utf8") === text;
      out.push(
        compare(
          title,
          `cmp ${path} ${other}`,
          same ? "unchanged" : "changed",
          "unchanged",
          spec.hint,
          `${path} differs from the copy taken at start (${other})`,
        ),
      );
    }
    if (spec.json !== undefined) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (error) {
        return Promise.resolve([{
          name: title,
          command: `jq . ${path}`,
          status: "fail",
          expected: "valid JSON",
          actual: (error as Error).message,
          observed: `${path} is not valid JSON: ${(error as Error).message}`,
          hint: spec.hint,
        }]);
      }
      for (const [key, want] of Object.entries(spec.json as Record<string, unknown>)) {
        const expected = typeof want === "string" ? ctx.sub(want) : want;
        const found = dig(parsed, key);
        out.push(
          compare(
            `${title}: ${jqPath(key)} is ${show(expected)}`,
            `jq '${jqPath(key)}' ${path}`,
            found,
            expected,
            spec.hint,
            found === undefined
              ? `${path} has no ${jqPath(key)}`
              : `${jqPath(key)} in ${path} is ${show(found)}`,
          ),
        );
      }
    }
    return Promise.resolve(out.length ? out : [{ name: title, command: `ls -l ${path}`, status: "pass" }]);
  },

  files(spec, ctx) {
    const dir = str(ctx, spec.files)!;
    const re = new RegExp(ctx.sub(String(spec.match ?? ".")));
    const isDir = existsSync(dir) && statSync(dir).isDirectory();
    const names = isDir ? readdirSync(dir).filter((f) => re.test(f)).sort() : [];
    const want = Number(spec.count ?? 0);
    const title = spec.name ?? `${want} entr${want === 1 ? "y" : "ies"} like /${re.source}/ in ${dir}`;
    return Promise.resolve([
      names.length === want ? { name: title, command: `ls ${dir}`, status: "pass" } : {
        name: title,
        command: `ls ${dir}`,
        status: "fail",
        expected: `${want}`,
        actual: `${names.length}${names.length ? `: ${names.join(", ")}` : ""}`,
        observed: !isDir
          ? `${dir} does not exist`
          : names.length === 0
          ? `${dir} holds no entry like ${describePattern(re.source)}`
          : `${dir} holds ${names.length} like ${describePattern(re.source)}: ${names.join(", ")}`,
        hint: spec.hint,
      },
    ]);
  },

  async run(spec, ctx) {
    const argv = (spec.run as unknown[]).map((a) => ctx.sub(String(a)));
    const env = Object.fromEntries(
      Object.entries((spec.env ?? {}) as Record<string, unknown>).map(([k, v]) => [k, ctx.sub(String(v))]),
    );
    const stdin = str(ctx, spec.stdin);
    const envText = Object.entries(env).map(([k, v]) => `${k}=${v}`).join(" ");
    const quoted = argv.map((a) => (/[\s'"$;|&<>()*]/.test(a) ? `'${a.replaceAll("'", "'\\''")}'` : a)).join(
      " ",
    );
    const command = `${stdin !== undefined ? `echo '${stdin}' | ` : ""}${envText ? `${envText} ` : ""}${
      quoted.replace(CNILAB, "cnilab")
    }`;
    const title = spec.name ?? command;
    const timeoutMs = Number(spec.timeout_ms ?? 20000);
    const r = stdin === undefined
      ? await run(argv, { env, check: false, purpose: "read", timeoutMs })
      : await runPiped(["timeout", String(Math.ceil(timeoutMs / 1000)), ...argv], stdin, { env });
    const wantExit = spec.exit === undefined ? 0 : Number(spec.exit);
    if (r.code !== wantExit) {
      const said = (r.stderr.trim() || r.stdout.trim()).split("\n").slice(-2).join(" / ");
      return [{
        name: title,
        command,
        status: "fail",
        expected: `exit ${wantExit}`,
        actual: `exit ${r.code}${said ? `: ${said}` : ""}`,
        observed: `the command exited ${r.code}${said ? `: ${said}` : ""}`,
        hint: spec.hint,
      }];
    }
    if (spec.stdout_has !== undefined) {
      const want = ctx.sub(String(spec.stdout_has));
      if (!r.stdout.includes(want)) {
        return [{
          name: title,
          command,
          status: "fail",
          expected: `output containing ${JSON.stringify(want)}`,
          actual: JSON.stringify(r.stdout.trim().slice(0, 160)),
          observed: `its output ${
            r.stdout.trim() ? `(${JSON.stringify(r.stdout.trim().slice(0, 80))})` : "(none)"
          } does not contain ${JSON.stringify(want)}`,
          hint: spec.hint,
        }];
      }
    }
    if (spec.as) ctx.vars[String(spec.as)] = r.stdout.trim();
    return [{ name: title, command, status: "pass" }];
  },

  async conf(spec, ctx) {
    const dir = str(ctx, spec.conf)!;
    const max = Number(str(ctx, spec.max_conf_num) ?? 1);
    const command = `cnilab exercise networks --conf-dir ${dir} --max-conf-num ${max}`;
    const want = ((spec.names ?? []) as unknown[]).map((n) => ctx.sub(String(n)));
    const title = spec.name ??
      (want.length
        ? `containerd (max_conf_num ${max}) loads ${want.join(", ")} from ${dir}`
        : `the network containerd loads from ${dir}`);
    const { loadConfDir } = await import("../runtime/mod.ts");
    let lists;
    try {
      lists = loadConfDir(dir, { maxConfNum: max });
    } catch (error) {
      return [{
        name: title,
        command,
        status: "fail",
        expected: want.length ? want.join(", ") : "a network config",
        actual: (error as Error).message,
        observed: (error as Error).message,
        hint: spec.hint,
      }];
    }
    const names = lists.map((c) => c.name);
    const out = want.length
      ? [
        compare(
          title,
          command,
          names.join(", "),
          want.join(", "),
          spec.hint,
          `it loads ${names.join(", ")} from ${dir}, in that order`,
        ),
      ]
      : [];
    // `expect` reads fields of the first network loaded (its file as the runtime parsed it), once it is
    // the one `names` asks for
    const first = JSON.parse(lists[0].bytes) as unknown;
    for (const [key, value] of Object.entries((spec.expect ?? {}) as Record<string, unknown>)) {
      const expected = typeof value === "string" ? ctx.sub(value) : value;
      if (want.length && names[0] !== want[0]) {
        out.push({
          name: `${want[0]}: ${jqPath(key)} is ${show(expected)}`,
          command: "-",
          status: "skip",
          actual: `skipped: the runtime does not load ${want[0]} first yet`,
          observed: `waits until the runtime loads ${want[0]} first`,
        });
        continue;
      }
      const found = dig(first, key);
      out.push(compare(
        `${names[0]}: ${jqPath(key)} is ${show(expected)}`,
        `jq '${jqPath(key)}' ${lists[0].file}`,
        found,
        expected,
        spec.hint,
        found === undefined
          ? `${lists[0].file} has no ${jqPath(key)}`
          : `${jqPath(key)} in ${lists[0].file} is ${show(found)}`,
      ));
    }
    return out;
  },

  async containerd(spec, ctx) {
    const file = str(ctx, spec.containerd)!;
    const command = `cnilab exercise networks --containerd-config ${file}`;
    const title = spec.name ?? `${file} has a CRI [cni] table`;
    if (!existsSync(file)) {
      return [{
        name: title,
        command,
        status: "broken",
        actual: `${file} is missing`,
        hint: `run 'cnilab exercise reset ${ctx.ex.id}' then 'cnilab exercise start ${ctx.ex.id}'`,
      }];
    }
    const { readContainerdConfig } = await import("../runtime/mod.ts");
    try {
      const s = readContainerdConfig(file);
      const as = String(spec.as ?? "containerd");
      ctx.vars[`${as}.conf_dir`] = s.confDir;
      ctx.vars[`${as}.bin_dirs`] = s.binDirs.join(":");
      ctx.vars[`${as}.max_conf_num`] = String(s.maxConfNum);
      return [{
        name: title,
        command,
        status: s.section ? "pass" : "fail",
        expected: "a [cni] table",
        actual: s.section ? undefined : "none (containerd's defaults)",
        observed: s.section ? undefined : `${file} has no CRI [cni] table (containerd's defaults apply)`,
        hint: spec.hint,
      }];
    } catch (error) {
      return [{
        name: title,
        command,
        status: "fail",
        expected: "a valid TOML file",
        actual: (error as Error).message,
        observed: `${file} is not valid TOML: ${(error as Error).message}`,
        hint: spec.hint,
      }];
    }
  },

  async plugins(spec, ctx) {
    const dir = str(ctx, spec.plugins)!;
    const max = Number(str(ctx, spec.max_conf_num) ?? 1);
    const binDirs = str(ctx, spec.bin_dirs)!.split(":").filter(Boolean);
    const { loadConfDir, findInPath } = await import("../runtime/mod.ts");
    let lists;
    try {
      lists = loadConfDir(dir, { maxConfNum: max });
    } catch (error) {
      return [{
        name: spec.name ?? `plugins of ${dir}`,
        command: `ls ${dir}`,
        status: "fail",
        expected: "a network config",
        actual: (error as Error).message,
        observed: (error as Error).message,
        hint: spec.hint,
      }];
    }
    const types = new Set<string>();
    for (const l of lists) {
      for (const p of l.plugins) {
        types.add(p.type);
        const ipam = (p as { ipam?: { type?: string } }).ipam;
        if (ipam?.type) types.add(ipam.type);
      }
    }
    const out: CheckResult[] = [];
    for (const type of types) {
      const title = `plugin '${type}' is found in ${binDirs.join(":")} and answers VERSION`;
      let path: string;
      try {
        path = findInPath(type, binDirs);
      } catch {
        out.push({
          name: title,
          command: `ls -l ${binDirs.map((d) => `${d}/${type}`).join(" ")}`,
          status: "fail",
          expected: `an executable ${type}`,
          actual: "not found",
          observed: `no executable ${type} in ${binDirs.join(":")}`,
          hint: spec.hint,
        });
        continue;
      }
      const stdin = `{"cniVersion":"${lists[0].cniVersion || "1.0.0"}"}`;
      const command = `echo '${stdin}' | CNI_COMMAND=VERSION ${path}`;
      const r = await runPiped(["timeout", "10", path], stdin, { env: { CNI_COMMAND: "VERSION" } });
      let versions: unknown;
      try {
        versions = (JSON.parse(r.stdout) as { supportedVersions?: unknown }).supportedVersions;
      } catch { /* reported below */ }
      out.push(
        r.code === 0 && Array.isArray(versions) ? { name: title, command, status: "pass" } : {
          name: title,
          command,
          status: "fail",
          expected: "exit 0 and {supportedVersions: [...]}",
          actual: `exit ${r.code}: ${(r.stdout.trim() || r.stderr.trim()).slice(0, 120)}`,
          observed: `${path} answered VERSION with exit ${r.code}${
            r.code === 0 ? " but no supportedVersions list" : ""
          }: ${(r.stdout.trim() || r.stderr.trim()).slice(0, 120) || "nothing"}`,
          hint: spec.hint,
        },
      );
    }
    return out;
  },

  async pod(spec, ctx) {
    const ref = str(ctx, spec.pod)!;
    const [ns, name] = ref.includes("/") ? ref.split("/") : ["default", ref];
    const command = "cnilab pod ls --json";
    const title = spec.name ?? `pod ${ns}/${name} runs`;
    const { listPodSandbox } = await import("../sandbox/mod.ts");
    const s = listPodSandbox().find((p) => p.namespace === ns && p.name === name);
    if (spec.absent) {
      return [
        compare(
          spec.name ?? `pod ${ns}/${name} is gone`,
          command,
          s ? "exists" : "gone",
          "gone",
          spec.hint,
          `pod ${ns}/${name} still exists`,
        ),
      ];
    }
    if (!s) {
      return [{
        name: title,
        command,
        status: "fail",
        expected: `pod ${ns}/${name}`,
        actual: "no such pod",
        observed: `there is no pod ${ns}/${name}`,
        hint: spec.hint,
      }];
    }
    const as = String(spec.as ?? "pod");
    ctx.vars[`${as}.id`] = s.id;
    ctx.vars[`${as}.netns`] = s.netns.name;
    ctx.vars[`${as}.ip`] = s.status?.ip ?? "";
    ctx.vars[`${as}.holder`] = String(s.holder?.pid ?? "");
    const out: CheckResult[] = [];
    const running = s.containers.filter((c) => c.phase === "running").length;
    if (spec.running !== undefined) {
      out.push(
        compare(
          `${title} with ${spec.running} running containers`,
          command,
          running,
          Number(spec.running),
          spec.hint,
          `${running} of its ${s.containers.length} containers run`,
        ),
      );
    }
    if (spec.shared_netns) {
      const nsOf = (pid?: number) => {
        try {
          return pid ? String(statSync(`/proc/${pid}/ns/net`).ino) : "gone";
        } catch {
          return "gone";
        }
      };
      const holderNs = nsOf(s.holder?.pid);
      for (const c of s.containers) {
        const pid = c.process?.pid;
        out.push(compare(
          `container ${c.name} (PID ${pid ?? "?"}) is in the pause holder's network namespace`,
          `readlink /proc/${pid ?? "PID"}/ns/net /proc/${s.holder?.pid ?? "PID"}/ns/net`,
          nsOf(pid) === holderNs && holderNs !== "gone" ? "same" : "different",
          "same",
          spec.hint,
          `container ${c.name} is not in the pause holder's network namespace`,
        ));
      }
    }
    return out.length ? out : [{ name: title, command, status: "pass" }];
  },

  async code(spec, ctx) {
    const fnName = String(spec.code);
    if (!ctx.ex.code) throw new Error(`${ctx.ex.dir}: check 'code: ${fnName}' but no checks.ts`);
    const mod = await import(ctx.ex.code) as { checks?: Record<string, CodeCheck> };
    const fn = mod.checks?.[fnName];
    if (!fn) throw new Error(`${ctx.ex.code} exports no checks.${fnName}`);
    return await fn(ctx);
  },
};

/** The kinds, by their key. */
export const CHECK_KINDS = Object.keys(KINDS);

function kindOf(spec: CheckSpec): string {
  const k = CHECK_KINDS.find((k) => k in spec);
  if (!k) {
    throw new Error(
      `a check with none of the known keys (${CHECK_KINDS.join(", ")}): ${JSON.stringify(spec)}`,
    );
  }
  return k;
}

/** Unbound `${var}` left in a spec after substitution (a check that an earlier failed check should have fed). */
function unbound(spec: CheckSpec, ctx: CheckContext): string[] {
  const text = ctx.sub(JSON.stringify({ ...spec, hint: undefined, name: undefined }));
  return [...text.matchAll(/\$\{([A-Za-z_][\w.]*)\}/g)].map((m) => m[1]);
}

/** Runs an exercise's checks in order. */
export async function runChecks(ex: Exercise): Promise<CheckResult[]> {
  const vars = { ...ex.vars };
  const ctx: CheckContext = { ex, vars, sub: (t) => substitute(t, vars) };
  const results: CheckResult[] = [];
  if (ex.setup && !started(ex)) {
    return [{
      name: "the exercise was started",
      command: `ls ${ex.vars.WORK}/.started`,
      status: "broken",
      actual: "not started: its starting state does not exist yet",
      hint: `run 'cnilab exercise start ${ex.id}'`,
    }];
  }
  for (const spec of ex.checks) {
    const kind = kindOf(spec);
    const missing = unbound(spec, ctx);
    if (missing.length > 0) {
      results.push({
        name: spec.name ? ctx.sub(spec.name) : `${kind} ${ctx.sub(String(spec[kind]))}`,
        command: "-",
        status: "skip",
        actual: `skipped until an earlier check passes (the one that finds ${missing.join(", ")})`,
        observed: `waits for an earlier check (the one that finds ${missing.join(", ")})`,
      });
      continue;
    }
    const named = {
      ...spec,
      name: spec.name ? ctx.sub(spec.name) : undefined,
      hint: spec.hint ? ctx.sub(spec.hint) : undefined,
    };
    try {
      results.push(...await KINDS[kind](named, ctx));
    } catch (error) {
      results.push({
        name: named.name ?? kind,
        command: "-",
        status: "broken",
        actual: `the check itself failed: ${(error as Error).message}`,
      });
    }
  }
  return results;
}
