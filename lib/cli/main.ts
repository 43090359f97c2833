/**
 * `cnilab`: the command line. Parses the command name, then hands the rest to the command's module.
 * Every mistake a user can make ends here as one line and exit code 2, never a stack trace.
 * @module
 */
import process from "node:process";
import { type Command, Exit, EXIT_CODES_HELP, UsageError } from "./command.ts";
import { usageErrorOf } from "./args.ts";
import { COMMANDS } from "./commands.ts";
import { clean } from "./clean.ts";
import { doctor } from "./doctor.ts";
import { down, ps } from "./ps.ts";
import { list } from "./list.ts";
import { runCommand } from "./run.ts";
import { show } from "./show.ts";
import { versionText } from "./version.ts";
// registers the pod network's teardown: any command may release a pod's journal (`clean`, `down`, `run`)
import "../sandbox/network.ts";
import { terminalWidth, wrapAligned } from "../text/mod.ts";

const BUILTIN: Command[] = [list, runCommand, show, ps, down, clean, doctor];

function all(): Command[] {
  return [...BUILTIN, ...COMMANDS];
}

function help(): string {
  const rows = all().map((c) => `  ${c.name.padEnd(16)} ${c.summary}`).join("\n");
  return `cnilab: labs that build Kubernetes pod networking for real (chapter 2, CNI architecture)

usage: cnilab <command> [options]
       cnilab --version

commands:
${rows}

Run 'cnilab <command> --help' for a command's options.
${EXIT_CODES_HELP}`;
}

/** One line for an error: the message's first line, never a stack. */
function oneLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n")[0];
}

/** Runs the CLI with the given arguments; resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    console.log(wrapAligned(help(), terminalWidth()));
    return name === undefined ? Exit.NotReady : Exit.Ok;
  }
  if (name === "--version" || name === "-V" || name === "version") {
    console.log(versionText());
    return Exit.Ok;
  }
  const command = all().find((c) => c.name === name);
  if (!command) {
    const what = name.startsWith("-") ? `unknown option '${name}'` : `unknown command '${name}'`;
    console.error(`cnilab: ${what}; see 'cnilab --help'`);
    return Exit.NotReady;
  }
  // `--help` anywhere before a `--` (after it, the words belong to a command run inside a pod)
  const own = rest.includes("--") ? rest.slice(0, rest.indexOf("--")) : rest;
  if (own.includes("--help") || own.includes("-h")) {
    console.log(wrapAligned(command.usage, terminalWidth()));
    return Exit.Ok;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    const usage = error instanceof UsageError ? error : usageErrorOf(error);
    if (usage) {
      // the fix, when the message has none yet: where to look
      const hint = /--help|\bcnilab /.test(usage.message) ? "" : `; see 'cnilab ${name} --help'`;
      console.error(`cnilab ${name}: ${oneLine(usage)}${hint}`);
      return usage.exitCode;
    }
    if (process.env.CNILAB_DEBUG) throw error;
    console.error(`cnilab ${name}: ${oneLine(error)} (CNILAB_DEBUG=1 shows where)`);
    return Exit.CheckFailed;
  }
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2));
}
