/**
 * `cnilab run`: runs labs with narration, checks and verified teardown.
 * @module
 */
import process from "node:process";
import { writeFileSync } from "node:fs";
import { findLab, LABS } from "../../labs/mod.ts";
import { type LabEntry, LabNotReady, type LabReport } from "../lab/mod.ts";
import { controllingTerminal, type StepInfo, TerminalStepController } from "../lab/step.ts";
import { openLabPage } from "../ui/mod.ts";
import { terminalWidth, wrap } from "../text/mod.ts";
import { Transcript } from "../lab/transcript.ts";
import { transcriptSection as errataSection } from "../errata/mod.ts";
import { commandLog, palette, terminalView } from "../lab/views.ts";
import { unobserved } from "../events/mod.ts";
import { readTopology } from "../topology/mod.ts";
import { podLabels, runScope } from "./scope.ts";
import { cleanStale, CollisionError } from "../ownership/mod.ts";
import { parseArgs } from "./args.ts";
import { type Command, Exit, EXIT_CODES_HELP, UsageError } from "./command.ts";
import { requireRoot, requireTools } from "./env.ts";
import { table } from "./table.ts";

/** A lab of `run all` that could not start: a row of the summary. */
interface Blocked {
  lab: string;
  section: string;
  blocked: string;
}

function waitLine(s: StepInfo): string {
  return `[step ${s.index + 1} of ${s.count}: ${s.title}] waiting for Next / Repeat / Quit on the page…`;
}

/** `cnilab run` */
export const runCommand: Command = {
  name: "run",
  summary: "run a lab (or 'all'): build it for real, check every claim, tear down",
  usage: `usage: cnilab run <lab-id|section|all> [--keep] [--step] [--ui] [--json]
                  [--verbose] [--transcript FILE]

Runs a lab step by step: each step says which part of the chapter it mirrors,
shows every command as it runs and checks the real state (✓/✗ with expected
vs actual). Teardown always runs — also after a failed check, an error, Ctrl-C or
SIGTERM — and is verified: nothing the lab created may remain.

  <lab>        a lab id (see 'cnilab list') or section number, e.g. 2.5
  --keep       leave the lab standing and print commands to explore it;
               'cnilab down <run-id>' removes it (see 'cnilab ps')
  --step       presenter mode: show each step, then wait on the terminal —
               Enter: run · r: repeat · q: quit (Ctrl-C too: verified
               teardown, exit 130). Needs a controlling terminal (or --ui).
  --ui         also show the lab live in a browser (see 'cnilab ui'); with
               --step, Next / Repeat / Quit on the page drive it
  --json       print a machine-readable report instead of the narration
  --verbose    also show the commands run by the checks in full
  --transcript FILE
               also write a Markdown handout: narration, every command with
               its output, each check, step timings and Mermaid diagrams

${EXIT_CODES_HELP}`,
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        keep: { type: "boolean" },
        step: { type: "boolean" },
        ui: { type: "boolean" },
        json: { type: "boolean" },
        verbose: { type: "boolean" },
        transcript: { type: "string" },
      },
    });
    if (positionals.length === 0) {
      throw new UsageError("name a lab id, section number or 'all' (see 'cnilab list')");
    }
    if (positionals.length > 1) {
      throw new UsageError(`unexpected argument '${positionals[1]}'; run one lab or 'all'`);
    }
    const key = positionals[0];
    const labs: LabEntry[] = key === "all"
      ? LABS
      : [findLab(key)].filter((l): l is LabEntry => l !== undefined);
    if (labs.length === 0) {
      throw new UsageError(
        `unknown lab '${key}'; known: ${LABS.map((l) => l.section).join(", ")} (see 'cnilab list')`,
      );
    }
    // step mode talks to a person at a terminal: without one there is nobody to press Enter
    if (values.step && !values.ui && !controllingTerminal()) {
      throw new UsageError("--step needs a controlling terminal (run it in a terminal, not a pipe or CI)");
    }
    requireRoot();
    requireTools();

    const out = (line: string) => console.log(line);
    const color = process.stdout.isTTY === true && !process.env.NO_COLOR;
    const c = palette(color);
    const width = terminalWidth();
    for (const stale of await cleanStale()) {
      const what = stale.removed.length ? stale.removed.join(", ") : "nothing was left";
      const msg =
        `cleaned up after a killed cnilab run (${stale.owner.kind} ${stale.owner.label}, run ${stale.owner.id}): ${what}`;
      if (values.json) console.error(msg);
      else out(c.yellow(wrap(msg, width, "", "  ")));
    }

    // with --ui the page is the step controller (lib/ui/step.ts); the terminal narrates the same
    const page = values.ui ? await openLabPage({ onWait: (s) => console.error(waitLine(s)) }) : undefined;
    if (page) console.error(`cnilab: the lab is live at ${page.url}`);
    const controller = values.step && page ? page.controller : values.step
      ? new TerminalStepController({
        showIntro: values.json,
        color: process.stderr.isTTY === true && !process.env.NO_COLOR,
      })
      : undefined;
    const stopView = values.json ? () => {} : terminalView(out, { color, verbose: values.verbose, width });
    const reports: (LabReport & { commands?: unknown; warnings?: string[] })[] = [];
    const blocked: Blocked[] = [];
    const handouts: string[] = [];
    let interruptedExit: number | undefined;
    let signalled = false;
    try {
      for (const [i, lab] of labs.entries()) {
        if (key === "all" && !values.json) {
          out(c.bold(`\n[${i + 1}/${labs.length}] ${lab.section} ${lab.id}`));
        }
        const log = commandLog();
        const transcript = values.transcript ? new Transcript() : undefined;
        try {
          const report = await lab.run({
            keep: values.keep,
            controller,
            exitOnInterrupt: false,
            afterStep: transcript
              ? async () => {
                // the transcript's own reads are not part of the lab: kept off the terminal and --json
                const run = transcript.ownedBy();
                transcript.offer(
                  await unobserved(async () =>
                    readTopology({ scope: await runScope(run), pods: podLabels() })
                  ),
                );
              }
              : undefined,
          });
          reports.push({
            ...report,
            warnings: log.warnings,
            commands: Object.fromEntries([...log.log].map(([step, cmds]) => [
              step === -1 ? "preflight" : step === -2 ? "teardown" : String(step + 1),
              cmds.map(({ argv, code, durationMs, stdout, stderr, purpose }) => ({
                argv,
                code,
                durationMs,
                stdout,
                stderr,
                purpose,
              })),
            ])),
          });
          if (report.kept && !values.json) {
            out(`\nThe lab is still standing (run ${report.runId}). Explore it:`);
            for (const cmd of report.explore ?? []) out(wrap(cmd, width, "  ", "      "));
          }
          if (report.interrupted) {
            interruptedExit = report.interrupted.exitCode;
            signalled = report.interrupted.by !== "quit";
            break;
          }
        } catch (error) {
          if (!(error instanceof LabNotReady || error instanceof CollisionError)) throw error;
          // one lab that cannot start: alone it is the answer (exit 2); in 'run all' it is a row
          if (key !== "all") throw new UsageError(error.message);
          blocked.push({ lab: lab.id, section: lab.section, blocked: error.message });
          if (!values.json) out(c.yellow(wrap(`blocked: ${error.message}`, width, "  ", "    ")));
        } finally {
          log.stop();
          // the errata sheet ends every handout (the same entries as `cnilab errata` and docs/errata.md)
          if (transcript) handouts.push(transcript.finish(errataSection()));
        }
      }
    } finally {
      stopView();
      if (page) {
        // after Ctrl-C (or SIGTERM) the lab has torn down and the run ends: the signal was the Quit
        if (!signalled) {
          console.error("cnilab: the page stays up: Quit on the page (or Ctrl-C) ends it");
          await page.waitForQuit();
        }
        page.close();
      }
    }
    if (values.transcript) {
      writeFileSync(values.transcript, handouts.join("\n---\n\n"));
      if (!values.json) out(`transcript written to ${values.transcript}`);
    }
    const ok = reports.every((r) => r.ok) && blocked.length === 0;
    if (values.json) {
      console.log(JSON.stringify({ ok, labs: reports, blocked }, null, 2));
    } else if (key === "all") {
      const rows = reports.map((r) => {
        const checks = [...r.steps.flatMap((s) => s.checks), ...(r.teardown?.checks ?? [])];
        return [
          `${r.section} ${r.lab}`,
          r.interrupted ? "interrupted" : r.ok ? "✓ passed" : "✗ failed",
          String(checks.filter((x) => x.ok).length),
          String(checks.filter((x) => !x.ok).length),
          `${(r.durationMs / 1000).toFixed(2)} s`,
        ];
      });
      for (const b of blocked) rows.push([`${b.section} ${b.lab}`, `blocked: ${b.blocked}`, "-", "-", "-"]);
      out(`\n${table(["LAB", "RESULT", "PASSED", "FAILED", "TIME"], rows, { width, flex: 1 })}`);
    }
    if (interruptedExit !== undefined) return interruptedExit;
    if (blocked.length > 0 && reports.every((r) => r.ok)) return Exit.NotReady;
    return ok ? Exit.Ok : Exit.CheckFailed;
  },
};
