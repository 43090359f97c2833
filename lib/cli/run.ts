/**
 * `cnilab run`: runs labs with narration, checks and verified teardown.
 * @module
 */
import process from "node:process";
import { writeFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { findLab, LABS } from "../../labs/mod.ts";
import { type LabEntry, LabNotReady, type LabReport } from "../lab/mod.ts";
import Table from "cli-table3";
import { Transcript } from "../lab/transcript.ts";
import { transcriptSection as errataSection } from "../errata/mod.ts";
import { commandLog, palette, terminalView } from "../lab/views.ts";
import { readTopology } from "../topology/mod.ts";
import { cleanStale, CollisionError } from "../ownership/mod.ts";
import { type Command, Exit, UsageError } from "./command.ts";
import { requireRoot, requireTools } from "./env.ts";

function waitForEnter(index: number, title: string): Promise<void> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  return new Promise((resolve) => {
    rl.question(`\n[step ${index + 1}: ${title}] press Enter to run it… `, () => {
      rl.close();
      resolve();
    });
  });
}

/** `cnilab run` */
export const runCommand: Command = {
  name: "run",
  summary: "run a lab (or 'all'): build it for real, check every claim, tear down",
  usage: `Usage: cnilab run <lab-id|section|all> [--keep] [--step] [--json] [--verbose] [--transcript FILE]

Runs a lab step by step: each step says which part of the chapter it mirrors, shows every command as it
runs and checks the real state (✓/✗ with expected vs actual). Teardown always runs — also after a failed
check, an error, Ctrl-C or SIGTERM — and is verified: nothing the lab created may remain.

  <lab>        a lab id (see 'cnilab list') or section number, e.g. network-namespace-lifecycle or 2.5
  --keep       leave the lab standing and print commands to explore it; 'cnilab clean' removes it
  --step       workshop mode: wait for Enter before each step
  --json       print a machine-readable report instead of the narration
  --verbose    also show the commands run by the checks in full
  --transcript FILE
               also write a Markdown handout: narration, every command with its output, each check,
               step timings and a Mermaid diagram of the topology at its fullest

Exit codes: 0 every check passed, 1 a check failed, 2 environment not ready or bad input.`,
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        keep: { type: "boolean" },
        step: { type: "boolean" },
        json: { type: "boolean" },
        verbose: { type: "boolean" },
        transcript: { type: "string" },
      },
    });
    if (positionals.length !== 1) {
      throw new UsageError("name one lab id, section number or 'all' (see 'cnilab list')");
    }
    const key = positionals[0];
    const labs: LabEntry[] = key === "all"
      ? LABS
      : [findLab(key)].filter((l): l is LabEntry => l !== undefined);
    if (labs.length === 0) {
      throw new UsageError(
        `unknown lab '${key}'; known: ${LABS.map((l) => `${l.id} (${l.section})`).join(", ")}`,
      );
    }
    requireRoot();
    requireTools();

    const out = (line: string) => console.log(line);
    const color = process.stdout.isTTY === true && !process.env.NO_COLOR;
    const c = palette(color);
    for (const stale of await cleanStale()) {
      const what = stale.removed.length ? stale.removed.join(", ") : "nothing was left";
      const msg =
        `cleaned up after a killed cnilab run (${stale.owner.kind} ${stale.owner.label}, run ${stale.owner.id}): ${what}`;
      if (values.json) console.error(msg);
      else out(c.yellow(msg));
    }

    const stopView = values.json ? () => {} : terminalView(out, { color, verbose: values.verbose });
    const reports: (LabReport & { commands?: unknown })[] = [];
    const handouts: string[] = [];
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
            beforeStep: values.step ? waitForEnter : undefined,
            afterStep: transcript
              ? async () =>
                transcript.offer(await readTopology({ namespaceFilter: (n) => n.startsWith("cni-") }))
              : undefined,
          });
          reports.push({
            ...report,
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
            out(`\nThe lab is still standing. Explore it:`);
            for (const cmd of report.explore ?? []) out(`  ${cmd}`);
          }
        } finally {
          log.stop();
          // the errata sheet ends every handout (the same entries as `cnilab errata` and docs/errata.md)
          if (transcript) handouts.push(transcript.finish(errataSection()));
        }
      }
    } catch (error) {
      if (error instanceof LabNotReady || error instanceof CollisionError) {
        throw new UsageError(error.message);
      }
      throw error;
    } finally {
      stopView();
    }
    if (values.transcript) {
      writeFileSync(values.transcript, handouts.join("\n---\n\n"));
      if (!values.json) out(`transcript written to ${values.transcript}`);
    }
    if (values.json) console.log(JSON.stringify({ ok: reports.every((r) => r.ok), labs: reports }, null, 2));
    else if (key === "all") {
      const table = new Table({
        head: ["lab", "checks passed", "failed", "duration"],
        style: { head: [], border: [] },
      });
      for (const r of reports) {
        const checks = [...r.steps.flatMap((s) => s.checks), ...(r.teardown?.checks ?? [])];
        table.push([
          `${r.section} ${r.lab}`,
          checks.filter((x) => x.ok).length,
          checks.filter((x) => !x.ok).length,
          `${(r.durationMs / 1000).toFixed(2)} s`,
        ]);
      }
      out(`\n${table.toString()}`);
    }
    return reports.every((r) => r.ok) ? Exit.Ok : Exit.CheckFailed;
  },
};
