/**
 * `cnilab list`: the labs, in chapter order.
 * @module
 */
import { LABS } from "../../labs/mod.ts";
import { parseArgs } from "./args.ts";
import { type Command, UsageError } from "./command.ts";
import { table } from "./table.ts";

/** `cnilab list` */
export const list: Command = {
  name: "list",
  summary: "list the labs: id, chapter section, what each builds",
  usage: `usage: cnilab list [-o wide] [--json]

Lists every lab with its section number, its id (the chapter section's slug)
and title; -o wide adds a one-line summary of what it builds. Run one with
'cnilab run <id|section>'.`,
  run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: { json: { type: "boolean" }, output: { type: "string", short: "o" } },
    });
    if (values.output !== undefined && values.output !== "wide") {
      throw new UsageError(`-o takes 'wide', got '${values.output}'`);
    }
    if (values.json) {
      console.log(JSON.stringify(
        LABS.map(({ id, section, title, summary, steps }) => ({ id, section, title, summary, steps })),
        null,
        2,
      ));
      return Promise.resolve(0);
    }
    const wide = values.output === "wide";
    const head = ["SECTION", "ID", wide ? "TITLE: SUMMARY" : "TITLE"];
    const rows = LABS.map((l) => [l.section, l.id, wide ? `${l.title}: ${l.summary}` : l.title]);
    console.log(table(head, rows, { flex: 2 }));
    return Promise.resolve(0);
  },
};
