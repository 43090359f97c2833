/**
 * `cnilab show`: the live topology, read from the kernel.
 * @module
 */
import { parseArgs } from "node:util";
import { readTopology, renderMermaid, renderText } from "../topology/mod.ts";
import type { Command } from "./command.ts";
import { requireRoot } from "./env.ts";

/** `cnilab show` */
export const show: Command = {
  name: "show",
  summary: "draw the live topology: namespaces, holders, veth pairs, bridges, addresses, routes",
  usage: `Usage: cnilab show [--mermaid] [--json] [--all] [--netns PREFIX]

Reads the real state from the kernel (ip -json), not from what a lab intended, and draws it: every named
network namespace with the processes in it (a pod's pause holder shows as 'pause'), its links, addresses and
routes; the host's bridges with their ports; veth pairs matched end to end across namespaces.

  --mermaid        print a Mermaid flowchart (paste into Markdown) instead of text
  --json           print the topology as JSON
  --all            also draw the host's other links (eth0, lo, …)
  --netns PREFIX   only namespaces whose name starts with PREFIX (e.g. cni-)`,
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        mermaid: { type: "boolean" },
        json: { type: "boolean" },
        all: { type: "boolean" },
        netns: { type: "string" },
      },
    });
    requireRoot();
    const prefix = values.netns;
    const topology = await readTopology({
      allHostLinks: values.all,
      namespaceFilter: prefix ? (name) => name.startsWith(prefix) : undefined,
    });
    if (values.json) console.log(JSON.stringify(topology, null, 2));
    else if (values.mermaid) console.log(renderMermaid(topology));
    else console.log(renderText(topology));
    return 0;
  },
};
