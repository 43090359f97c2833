/**
 * `cnilab list`: the labs, in chapter order.
 * @module
 */
import { parseArgs } from "node:util";
import Table from "cli-table3";
import { LABS } from "../../labs/mod.ts";
import type { Command } from "./command.ts";

/** `cnilab list` */
export const list: Command = {
  name: "list",
  summary: "list the labs: id, chapter section, what each builds",
  usage: `Usage: cnilab list [--json]

Lists every lab with its id (the chapter section's slug), its section number and a one-line summary.
Run one with 'cnilab run <id|section>'.`,
  run(argv) {
    const { values } = parseArgs({ args: argv, options: { json: { type: "boolean" } } });
    if (values.json) {
      console.log(JSON.stringify(
        LABS.map(({ id, section, title, summary, steps }) => ({ id, section, title, summary, steps })),
        null,
        2,
      ));
      return Promise.resolve(0);
    }
    const table = new Table({ head: ["section", "id", "summary"], style: { head: [], border: [] } });
    for (const lab of LABS) table.push([lab.section, lab.id, `${lab.title}: ${lab.summary}`]);
    console.log(table.toString());
    return Promise.resolve(0);
  },
};
