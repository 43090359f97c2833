/**
 * Every exercise, through the CLI as an attendee uses it: after `start` its check says "not yet" (exit 1)
 * with lines that name the command looked at and expected vs actual; after `solve` it passes (exit 0); after
 * `reset` the host is exactly as before (links, addresses, routes, namespaces, ip_forward, files under
 * /run/cnilab, /var/lib/cni and /etc/netns, marked processes).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { type Exercise, listExercises } from "../../lib/exercise/mod.ts";
import { listOwners } from "../../lib/ownership/mod.ts";
import { cli, hostSnapshot } from "../helpers.ts";

const exercises = listExercises();

/** What an attendee sees first on a fresh start: the failing check, what it observed, the command that looked. */
const FIRST_FAILURE: Record<string, RegExp> = {
  "wire-a-pod":
    /✗ one pod namespace named cni-exw-<uuid>\n {4}there is no namespace named cni-exw-<uuid>\n {4}\$ ip -json netns list\n/,
  "two-pods":
    /✗ pod B's host end is a port of ext-br0 and up\n {4}ext-b has no master and is down\n {4}\$ ip /,
  "conf-pick":
    /✗ containerd \(max_conf_num 1\) picks network ex-pick\n {4}it loads cluster-net from \S+\/net\.d, in/,
  "containerd-config":
    /✗ this containerd loads network ex-cri from its conf_dir\n {4}CNI config directory \S+\/node\/etc\/cni\/net\.d does not exist/,
  "cni-add-by-hand":
    /✗ one sandbox namespace named cni-exf-<uuid>\n {4}there is no namespace named cni-exf-<uuid>\n/,
  "leaky-plugin":
    /✗ no address of ex-leak is reserved while no pod uses the network\n {4}\S+\/ipam\/ex-leak holds 3 like 10\.231\.9\.…: 10\.231\.9\.2, 10\.231\.9\.3, 10\.231\.9\.4\n/,
  "own-plugin": /✗ \S+\/bin\/ex-hello is an executable file\n {4}\S+\/bin\/ex-hello does not exist\n/,
  "localhost-pod":
    /✗ pod ex-localhost\/duo runs\n {4}there is no pod ex-localhost\/duo\n {4}\$ cnilab pod ls --json\n/,
  "holder-pin": /✗ one namespace named cni-exh-<uuid>\n {4}there is no namespace named cni-exh-<uuid>\n/,
  "pod-teardown": /✗ your answers name the pod's IP\n {4}\S+\/answers does not exist\n/,
  "packet-dies":
    /✗ exd-br0 forwards frames on pod B's port\n {4}its output \("disabled"\) does not contain "forwarding"\n/,
};

/** Check output with the wrapped continuation lines joined back to the line they continue. */
function unwrap(text: string): string {
  // observations and commands continue after 6 spaces, a check's name after 2
  return text.replace(/\n {6,}/g, " ").replace(/\n {2}(?! |\d+ more checks? not passing)/g, " ");
}

/**
 * The lines of an exercise's reference solution (solution.sh/.ts and the files under solution/) as patterns:
 * the exercise's variables are filled in, any other `$VAR` matches one word, quotes are ignored. Lines that
 * say nothing on their own (comments, `set -e`, braces, short keywords) are left out.
 */
function solutionLines(ex: Exercise): { line: string; re: RegExp }[] {
  const files = [ex.solution!];
  if (existsSync(`${ex.dir}/solution`)) {
    for (const f of readdirSync(`${ex.dir}/solution`)) files.push(`${ex.dir}/solution/${f}`);
  }
  const out: { line: string; re: RegExp }[] = [];
  for (const file of files) {
    for (const raw of readFileSync(file, "utf8").split("\n")) {
      const line = raw.trim().replaceAll('"', "");
      if (line.length < 10 || /^(#|\/\/|\*|\/\*\*|set -|esac|fi\b|done\b|case |\*\))/.test(line)) continue;
      const pattern = line.split(/(\$\{?[A-Za-z_]\w*\}?)/).map((part) => {
        const v = /^\$\{?([A-Za-z_]\w*)\}?$/.exec(part);
        if (v) return ex.vars[v[1]] !== undefined ? escape(ex.vars[v[1]]) : "\\S+";
        return escape(part);
      }).join("");
      // a line of variables only ("$a" "$b") matches anything: it needs some words of its own
      if (line.replace(/\$\{?[A-Za-z_]\w*\}?/g, "").replace(/\s/g, "").length < 8) continue;
      out.push({ line, re: new RegExp(pattern) });
    }
  }
  return out;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** True while another cnilab run (a lab, a test building pods) is creating and removing objects right now. */
async function othersBusy(): Promise<boolean> {
  return (await listOwners()).some((o) => o.info.kind !== "exercise" && !o.info.kept && o.creatorAlive());
}

/**
 * The host snapshot. When other cnilab runs are busy on this machine at the same time (engineers' tests in
 * parallel; CI runs serially), only the entries that this exercise could have touched are compared: its
 * declared names, cnilab's exercise state, libcni's cache. Otherwise everything is compared.
 */
function onlyMine(ex: Exercise, snap: Record<string, unknown>): Record<string, unknown> {
  const patterns = [...ex.names.netns, ...ex.names.links].map((p) => new RegExp(p));
  const mine = (entry: string) =>
    patterns.some((re) => re.test(entry.split(" ")[0])) || entry.startsWith("/run/cnilab/exercises") ||
    entry.startsWith("/var/lib/cni/results/ex-") || /^\/etc\/netns\/cni-ex/.test(entry);
  return Object.fromEntries(
    Object.entries(snap).filter(([k]) => k !== "ipForward" && k !== "processes")
      .map(([k, v]) => [k, Array.isArray(v) ? v.filter((e) => mine(String(e))) : v]),
  );
}

afterAll(async () => {
  // whatever a failed test left behind
  await cli(["exercise", "reset", "all"]);
});

test("there are at least 8 exercises and they cover every section of the chapter", () => {
  expect(exercises.length).toBeGreaterThanOrEqual(8);
  expect([...new Set(exercises.map((e) => e.section))].sort()).toEqual(["2.1", "2.2", "2.3", "2.4", "2.5"]);
  for (const ex of exercises) {
    expect(ex.hints.length).toBeGreaterThan(0);
    expect(ex.solution).toBeDefined();
    expect(ex.task).toContain("reset");
  }
});

describe.each(exercises.map((e) => [e.id]))("exercise %s", (id) => {
  test("not yet after start, passed after solve, host as before after reset", async () => {
    const ex = exercises.find((e) => e.id === id)!;
    const noisy = await othersBusy();
    const before = await hostSnapshot();
    try {
      const start = await cli(["exercise", "start", id]);
      expect(start.stderr).toBe("");
      expect(start.code).toBe(0);

      const first = await cli(["exercise", "check", id], { env: { COLUMNS: "80" } });
      expect(first.stdout).toContain("verdict: not yet");
      expect(first.code).toBe(1);
      // every line fits an 80-column terminal
      for (const line of first.stdout.split("\n")) expect(line.length).toBeLessThanOrEqual(80);
      const text = unwrap(first.stdout);
      // a failing check says what it observed and the command that looked, never the solution
      const lines = text.split("\n");
      const failing = lines.flatMap((l, i) => (l.startsWith("✗") ? [i] : []));
      expect(failing.length).toBeGreaterThan(0);
      for (const i of failing) {
        expect(lines[i + 1]).toMatch(/^ {4}\S/);
        expect(lines[i + 1]).not.toMatch(/^ {4}\$ /);
        expect(lines.slice(i + 2, i + 4).some((l) => l.startsWith("    $ "))).toBe(true);
      }
      for (const { line, re } of solutionLines(ex)) {
        if (re.test(text)) throw new Error(`check before the attempt shows a line of the solution: ${line}`);
      }
      expect(text).not.toMatch(/^ {4}hint: /m);
      expect(text).toContain(`cnilab exercise hint ${id} (1 of ${ex.hints.length})`);
      if (ex.troubleshooting) {
        // one failing observation at a time, and how many more do not pass
        expect(failing.length).toBe(1);
        const notPassing = lines.filter((l) => /^[✗?-] /.test(l)).length;
        expect(notPassing).toBe(1);
        expect(text).toMatch(/\n {2}\d+ more checks? not passing yet\n/);
      }
      if (FIRST_FAILURE[id]) expect(text).toMatch(FIRST_FAILURE[id]);
      // --explain adds what each failing check expects
      const explained = await cli(["exercise", "check", id, "--explain"]);
      expect(explained.stdout).toMatch(/\n {4}expected: /);

      const solve = await cli(["exercise", "solve", id]);
      expect(solve.stderr).toBe("");
      expect(solve.code).toBe(0);

      const second = await cli(["exercise", "check", id]);
      expect(second.stdout).toContain("verdict: passed");
      expect(second.stdout).not.toContain("✗");
      expect(second.code).toBe(0);
    } finally {
      const reset = await cli(["exercise", "reset", id]);
      expect(reset.code).toBe(0);
    }
    const after = await hostSnapshot();
    if (noisy || await othersBusy()) {
      console.warn(`${id}: other cnilab runs are busy; compared only what the exercise could touch`);
      expect(onlyMine(ex, after)).toEqual(onlyMine(ex, before));
    } else expect(after).toEqual(before);
  });
});
