/**
 * Views of the event stream: the terminal narration and the `--json` report's command log.
 * @module
 */
import { type CnilabEvent, type CommandEndEvent, subscribe } from "../events/mod.ts";

/** ANSI styling, off when the output is not a terminal or NO_COLOR is set. */
export function palette(color: boolean) {
  const wrap = (code: string) => (s: string) => color ? `\x1b[${code}m${s}\x1b[0m` : s;
  return {
    bold: wrap("1"),
    dim: wrap("2"),
    red: wrap("31"),
    green: wrap("32"),
    yellow: wrap("33"),
    cyan: wrap("36"),
  };
}

/** Quotes an argv for display the way a person would type it. */
export function shellQuote(argv: string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`)).join(" ");
}

function fmtMs(ms: number): string {
  return ms < 1000 ? `${ms.toFixed(1)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

function show(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

function indent(text: string, prefix: string): string {
  return text.replace(/\n$/, "").split("\n").map((l) => prefix + l).join("\n");
}

/** Narrates the event stream on a terminal; returns the function that stops it. */
export function terminalView(
  write: (line: string) => void,
  opts: { color: boolean; verbose?: boolean },
): () => void {
  const c = palette(opts.color);
  let steps = 0;
  return subscribe((e: CnilabEvent) => {
    switch (e.type) {
      case "lab:start":
        write(c.bold(`\n━━ ${e.section} ${e.title} ━━`) + c.dim(`  (run ${e.runId})`));
        break;
      case "step:start":
        steps = e.index + 1;
        write(`\n${c.bold(c.cyan(`▸ Step ${steps} · ${e.title}`))}  ${c.dim(`[${e.mirrors}]`)}`);
        write(indent(e.narration, "  "));
        break;
      case "command:start":
        if (e.purpose !== "read" || opts.verbose) {
          write(`  ${c.yellow("$")} ${shellQuote(e.argv)}`);
          if (e.stdin && e.argv.includes("-batch")) write(c.dim(indent(e.stdin, "    │ ")));
        }
        break;
      case "command:end":
        if (e.purpose === "read" && !opts.verbose) {
          write(c.dim(`  · ${shellQuote(e.argv)}  (${fmtMs(e.durationMs)})`));
        } else if (e.purpose === "show" && e.stdout.trim()) {
          write(indent(e.stdout, "    "));
        }
        if (e.code !== 0 && e.purpose !== "read") {
          write(
            c.red(
              `    exit ${e.code}: ${(e.stderr.trim() || e.stdout.trim()).split("\n").slice(-2).join(" / ")}`,
            ),
          );
        }
        break;
      case "check":
        if (e.ok) write(`  ${c.green("✓")} ${e.name}`);
        else {
          write(`  ${c.red("✗")} ${e.name}`);
          write(`      expected: ${show(e.expected)}`);
          write(`      actual:   ${show(e.actual)}`);
        }
        break;
      case "note":
        write(indent(e.text, "  "));
        break;
      case "step:end":
        if (e.error) write(c.red(`  ✗ step failed: ${e.error}`));
        write(c.dim(`  step ${e.index + 1} took ${fmtMs(e.durationMs)}`));
        break;
      case "teardown":
        if (e.phase === "start") write(`\n${c.bold(c.cyan("▸ Teardown"))}  ${c.dim(`(${e.reason})`)}`);
        else write(`  removed: ${e.removed?.length ? e.removed.join(", ") : "nothing was left to remove"}`);
        break;
      case "lab:end": {
        const verdict = e.ok ? c.green("✓ passed") : c.red("✗ failed");
        const kept = e.kept ? " (kept standing)" : "";
        write(`\n${verdict}${kept}: ${e.passed} checks passed, ${e.failed} failed in ${fmtMs(e.durationMs)}`);
        break;
      }
    }
  });
}

/** Collects the commands run during each step (index -1: before the first step; -2: teardown). */
export function commandLog(): { log: Map<number, CommandEndEvent[]>; stop: () => void } {
  const log = new Map<number, CommandEndEvent[]>();
  let current = -1;
  const stop = subscribe((e) => {
    if (e.type === "step:start") current = e.index;
    if (e.type === "teardown" && e.phase === "start") current = -2;
    if (e.type === "command:end") {
      if (!log.has(current)) log.set(current, []);
      log.get(current)!.push(e);
    }
  });
  return { log, stop };
}
