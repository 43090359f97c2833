/**
 * `cnilab show`: the live topology, read from the kernel.
 * @module
 */
import { terminalWidth } from "../text/mod.ts";
import { listOwners } from "../ownership/mod.ts";
import { readTopology, renderMermaid, renderText } from "../topology/mod.ts";
import { podLabels, runScope } from "./scope.ts";
import { parseArgs } from "./args.ts";
import { type Command, UsageError } from "./command.ts";
import { requireRoot } from "./env.ts";

/** `cnilab show` */
export const show: Command = {
  name: "show",
  summary: "draw the live topology: namespaces, pods, veth pairs, bridges, addresses, routes",
  usage: `usage: cnilab show [--run ID] [--netns PREFIX] [--processes] [--all]
                   [--mermaid] [--json]

Reads the real state from the kernel (ip -json), not from what a lab intended,
and draws it: every named network namespace (a pod's as namespace/name with a
short cni-… id), its links, addresses and routes; the host's bridges with
their ports; veth pairs matched end to end across namespaces.

  --run ID         only what one run owns (its journal and its pods; see
                   'cnilab ps')
  --netns PREFIX   only namespaces whose name starts with PREFIX (e.g. cni-)
  --processes      also list the processes in each namespace (pause holder…)
  --all            also draw the host's other links (eth0, lo, …)
  --mermaid        print a Mermaid flowchart (paste into Markdown)
  --json           print the topology as JSON (processes included)`,
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        mermaid: { type: "boolean" },
        json: { type: "boolean" },
        all: { type: "boolean" },
        processes: { type: "boolean" },
        netns: { type: "string" },
        run: { type: "string" },
      },
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    requireRoot();
    const prefix = values.netns;
    let scope;
    if (values.run !== undefined) {
      const id = values.run;
      if (!(await listOwners()).some((o) => o.id === id || (id.length >= 4 && o.id.startsWith(id)))) {
        throw new UsageError(`no cnilab run '${id}' on this machine (see 'cnilab ps')`);
      }
      scope = await runScope(id);
    }
    const topology = await readTopology({
      allHostLinks: values.all,
      namespaceFilter: prefix ? (name) => name.startsWith(prefix) : undefined,
      scope,
      pods: podLabels(),
    });
    if (values.json) console.log(JSON.stringify(topology, null, 2));
    else if (values.mermaid) console.log(renderMermaid(topology, { processes: values.processes }));
    else console.log(renderText(topology, { width: terminalWidth(), processes: values.processes }));
    return 0;
  },
};
