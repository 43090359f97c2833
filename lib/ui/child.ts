/**
 * The UI server as a child process of `cnilab run --ui`. The lab's process streams its events to it (JSON
 * lines on stdin) and hears the page's step answers back (JSON lines on stdout). A process of its own, so
 * the topology it keeps reading never shows among the lab's commands (every command cnilab runs is an event
 * of the process that runs it), and the page stays up while the lab's terminal is busy.
 * @module
 */
import process from "node:process";
import { createInterface } from "node:readline";
import type { CnilabEvent } from "../events/mod.ts";
import { watchTopology } from "./live.ts";
import { parseTrace } from "./model.ts";
import { startServer, type Waiting } from "./server.ts";

/** A line from the lab's process. */
export type ToChild = { lab: CnilabEvent } | { waiting: Waiting | null } | { trace: unknown };

/** A line to the lab's process. */
export type FromChild = { url: string } | { answer: "run" | "repeat" | "quit" } | { error: string };

function say(line: FromChild): void {
  process.stdout.write(JSON.stringify(line) + "\n");
}

async function main(): Promise<void> {
  const [hostname = "127.0.0.1", port = "0"] = process.argv.slice(2);
  // Ctrl-C reaches the whole process group: the lab tears down, and this process shows it, then leaves
  // when the lab's process closes its end of the pipe
  process.on("SIGINT", () => {});
  let server;
  try {
    server = await startServer({ hostname, port: Number(port), onAnswer: (answer) => say({ answer }) });
  } catch (e) {
    say({ error: e instanceof Error ? e.message : String(e) });
    process.exit(2);
  }
  const watch = watchTopology((s) => server.snapshot(s));
  say({ url: server.url });
  const lines = createInterface({ input: process.stdin });
  lines.on("line", (raw) => {
    let msg: ToChild;
    try {
      msg = JSON.parse(raw) as ToChild;
    } catch {
      return;
    }
    if ("lab" in msg) server.lab(msg.lab);
    else if ("waiting" in msg) server.waiting(msg.waiting ?? undefined);
    else if ("trace" in msg) {
      try {
        server.trace(parseTrace(msg.trace));
      } catch {
        // not a trace: nothing to draw
      }
    }
  });
  lines.on("close", () => {
    watch.stop();
    server.close();
    process.exit(0);
  });
}

if (import.meta.main) await main();
