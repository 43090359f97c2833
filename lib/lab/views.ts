/**
 * Views of the event stream: the terminal narration and the `--json` report's command log.
 * @module
 */
import { type CnilabEvent, type CommandEndEvent, subscribe } from "../events/mod.ts";
import { terminalWidth, wrap } from "../text/mod.ts";

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

/** Narrates the event stream on a terminal; returns the function that stops it. */
export function terminalView(
  write: (line: string) => void,
  opts: { color: boolean; verbose?: boolean; width?: number },
): () => void {
  const c = palette(opts.color);
  const width = opts.width ?? terminalWidth();
  // every line is wrapped to the width before it is coloured, so colour codes never count as columns
  const fit = (text: string, first: string, rest = first) => wrap(text, width, first, rest);
  const intro = (index: number, title: string, mirrors: string, narration: string) => {
    const head = fit(`▸ Step ${index + 1} · ${title}`, "", "  ");
    const tag = `[${mirrors}]`;
    const lastLine = head.split("\n").at(-1)!;
    const together = lastLine.length + 2 + tag.length <= width;
    write(`\n${c.bold(c.cyan(head))}${together ? `  ${c.dim(tag)}` : ""}`);
    if (!together) write(c.dim(fit(tag, "  ")));
    write(fit(narration, "  "));
  };
  return subscribe((e: CnilabEvent) => {
    switch (e.type) {
      case "lab:start":
        write(c.bold(fit(`\n━━ ${e.section} ${e.title} ━━`, "")) + c.dim(`  (run ${e.runId})`));
        break;
      case "step:start":
        intro(e.index, e.title, e.mirrors, e.narration);
        break;
      case "step:repeat":
        intro(e.index, e.title, e.mirrors, e.narration);
        break;
      case "command:start":
        if (e.purpose !== "read" || opts.verbose) {
          write(fit(`${c.yellow("$")} ${shellQuote(e.argv)}`, "  ", "      "));
          if (e.stdin && e.argv.includes("-batch")) write(c.dim(fit(e.stdin, "    │ ")));
        }
        break;
      case "command:end":
        if (e.purpose === "read" && !opts.verbose) {
          write(c.dim(fit(`· ${shellQuote(e.argv)}  (${fmtMs(e.durationMs)})`, "  ", "      ")));
        } else if (e.purpose === "show" && e.stdout.trim()) {
          write(fit(e.stdout, "    "));
        }
        if (e.code !== 0 && e.purpose !== "read") {
          write(
            c.red(
              fit(
                `exit ${e.code}: ${(e.stderr.trim() || e.stdout.trim()).split("\n").slice(-2).join(" / ")}`,
                "    ",
              ),
            ),
          );
        }
        break;
      case "check":
        if (e.ok) write(`  ${c.green("✓")} ${fit(e.name, "    ").slice(4)}`);
        else {
          write(`  ${c.red("✗")} ${fit(e.name, "    ").slice(4)}`);
          write(fit(`expected: ${show(e.expected)}`, "      ", "                "));
          write(fit(`actual:   ${show(e.actual)}`, "      ", "                "));
        }
        break;
      case "note":
        write(fit(e.text, "  "));
        break;
      case "warning":
        write(c.yellow(fit(`warning: ${e.message}`, "  ", "    ")));
        break;
      case "file":
        write(fit(`${c.yellow("$")} ${e.command}`, "  ", "      "));
        if (e.heredoc) {
          write(c.dim(fit(e.content.replace(/\n$/, ""), "    │ ")));
          write(c.dim("    │ EOF"));
        }
        for (const cmd of e.after ?? []) write(fit(`${c.yellow("$")} ${cmd}`, "  ", "      "));
        break;
      case "step:end":
        if (e.error) write(c.red(`  ✗ step failed: ${e.error}`));
        write(c.dim(`  step ${e.index + 1} took ${fmtMs(e.durationMs)}`));
        break;
      case "teardown":
        if (e.phase === "start") {
          const line = fit(`▸ Teardown  (${e.reason})`, "", "  ");
          write(`\n${c.bold(c.cyan("▸ Teardown"))}${c.dim(line.slice("▸ Teardown".length))}`);
        } else {
          write(
            fit(
              `removed: ${e.removed?.length ? e.removed.join(", ") : "nothing was left to remove"}`,
              "  ",
              "    ",
            ),
          );
        }
        break;
      case "lab:end": {
        if (e.interrupted) {
          const verified = e.teardownVerified ? "teardown verified" : "teardown left objects behind";
          write(
            `\n${
              c.yellow(
                fit(
                  `■ interrupted at step ${e.interrupted.step} of ${e.interrupted.of} (${e.interrupted.reason}); ${verified}`,
                  "",
                  "  ",
                ),
              )
            }`,
          );
          break;
        }
        const verdict = e.ok ? "✓ passed" : "✗ failed";
        const kept = e.kept ? " (kept standing)" : "";
        const line = fit(
          `${verdict}${kept}: ${e.passed} checks passed, ${e.failed} failed in ${fmtMs(e.durationMs)}`,
          "",
          "  ",
        );
        write(`\n${e.ok ? c.green(verdict) : c.red(verdict)}${line.slice(verdict.length)}`);
        break;
      }
    }
  });
}

/**
 * Collects the commands run during each step (index -1: before the first step; -2: teardown) and the
 * warnings the runtime or plugins gave.
 */
export function commandLog(): { log: Map<number, CommandEndEvent[]>; warnings: string[]; stop: () => void } {
  const log = new Map<number, CommandEndEvent[]>();
  const warnings: string[] = [];
  let current = -1;
  const stop = subscribe((e) => {
    if (e.type === "warning") warnings.push(e.message);
    if (e.type === "step:start") current = e.index;
    if (e.type === "teardown" && e.phase === "start") current = -2;
    if (e.type === "command:end") {
      if (!log.has(current)) log.set(current, []);
      log.get(current)!.push(e);
    }
  });
  return { log, warnings, stop };
}
