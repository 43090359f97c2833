/**
 * `cnilab`: the command line. Parses the command name, then hands the rest to the command's module.
 * @module
 */
import process from "node:process";
import { type Command, Exit, UsageError } from "./command.ts";
import { COMMANDS } from "./commands.ts";
import { clean } from "./clean.ts";
import { doctor } from "./doctor.ts";
import { list } from "./list.ts";
import { runCommand } from "./run.ts";
import { show } from "./show.ts";

const BUILTIN: Command[] = [list, runCommand, show, clean, doctor];

function all(): Command[] {
  return [...BUILTIN, ...COMMANDS];
}

function help(): string {
  const rows = all().map((c) => `  ${c.name.padEnd(16)} ${c.summary}`).join("\n");
  return `cnilab: labs that build Kubernetes pod networking for real (chapter 2, CNI architecture)

Usage: cnilab <command> [options]

Commands:
${rows}

Run 'cnilab <command> --help' for a command's options.
Exit codes: 0 all checks passed, 1 a check failed, 2 environment not ready or bad input.`;
}

/** Runs the CLI with the given arguments; resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    console.log(help());
    return name === undefined ? Exit.NotReady : Exit.Ok;
  }
  const command = all().find((c) => c.name === name);
  if (!command) {
    console.error(`cnilab: unknown command '${name}'; run 'cnilab --help' for the list`);
    return Exit.NotReady;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    console.log(command.usage);
    return Exit.Ok;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`cnilab ${name}: ${error.message}`);
      return error.exitCode;
    }
    if (error instanceof Error && error.name === "TypeError" && /parseArgs|option/i.test(error.message)) {
      console.error(`cnilab ${name}: ${error.message}`);
      return Exit.NotReady;
    }
    throw error;
  }
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2));
}
