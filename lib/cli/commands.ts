/**
 * The registry of `cnilab` subcommands, in the order `cnilab --help` lists them.
 * @module
 */
import type { Command } from "./command.ts";
import { bench } from "./bench.ts";
import { cni } from "./cni.ts";
import { errata } from "./errata.ts";
import { exercise } from "./exercise.ts";
import { installPluginsCommand } from "./install-plugins.ts";
import { pod } from "./pod.ts";
import { traceCommand } from "./trace.ts";
import { ui } from "./ui.ts";

/** Every subcommand. */
export const COMMANDS: Command[] = [
  bench,
  cni,
  errata,
  exercise,
  installPluginsCommand,
  pod,
  traceCommand,
  ui,
];
