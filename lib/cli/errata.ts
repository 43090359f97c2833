/**
 * `cnilab errata`: every place the chapter is outdated, wrong or inexact, with its source and the lab check
 * that proves it (the data is lib/errata/mod.ts).
 * @module
 */
import { parseArgs } from "node:util";
import { ERRATA, renderText } from "../errata/mod.ts";
import { type Command, Exit, UsageError } from "./command.ts";

/** `cnilab errata` */
export const errata: Command = {
  name: "errata",
  summary: "where the chapter and containerd differ: claim, reality, source, proving lab check",
  usage: `usage: cnilab errata [--json]

Prints every place chapter 2 is outdated, wrong or inexact, one entry each: the claim (quoted), what really
happens and for which versions, the source (containerd, go-cni, libcni, kubelet, the CNI spec, a release
note), and the lab step and check that prove it on this machine ('cnilab run <lab>' runs it).

  --json   print [{id, claim, reality, source, lab, step, check}]; lab, step and check are as in
           'cnilab run <lab> --json'`,
  run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { json: { type: "boolean" } },
    });
    if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    console.log(values.json ? JSON.stringify(ERRATA, null, 2) : renderText().trimEnd());
    return Promise.resolve(Exit.Ok);
  },
};
