/**
 * `cnilab clean`: removes everything cnilab created, and nothing else.
 * @module
 */
import { parseArgs } from "node:util";
import { cleanAll } from "../ownership/mod.ts";
import type { Command } from "./command.ts";
import { requireRoot } from "./env.ts";

/** `cnilab clean` */
export const clean: Command = {
  name: "clean",
  summary: "remove everything cnilab created (kept labs, pods, killed runs), and nothing else",
  usage: `usage: cnilab clean [--json]

Removes every namespace, link, process, file, mount and host setting that cnilab recorded or marked as its
own: labs kept with --keep, pods, and whatever a killed run left. Host sysctls cnilab changed are restored.
Objects cnilab did not create are never touched, even when their names look alike. Runs that are still
in progress in another cnilab process are left alone.`,
  async run(argv) {
    const { values } = parseArgs({ args: argv, options: { json: { type: "boolean" } } });
    requireRoot();
    const removed = await cleanAll();
    if (values.json) console.log(JSON.stringify({ removed }, null, 2));
    else if (removed.length === 0) console.log("nothing to clean: cnilab has nothing on this machine");
    else console.log(`removed ${removed.length}:\n${removed.map((r) => `  ${r}`).join("\n")}`);
    return 0;
  },
};
