/**
 * `cnilab ui`: the live view in the browser (lib/ui).
 * @module
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import process from "node:process";
import { parseArgs } from "node:util";
import { parseTrace, serveLive } from "../ui/mod.ts";
import { which } from "../shell/mod.ts";
import { type Command, Exit, UsageError } from "./command.ts";
import { requireRoot } from "./env.ts";

/** The port `cnilab ui` listens on unless told otherwise. */
export const DEFAULT_PORT = 8025;

/** `cnilab ui` */
export const ui: Command = {
  name: "ui",
  summary: "the live topology in a browser, for the projector (127.0.0.1 + a token)",
  usage: `usage: cnilab ui [--port N] [--listen ADDR] [--open] [--trace FILE]

Starts a web server and prints its URL with a random token (like Jupyter). The page draws the live topology
from the kernel, the same reading as 'cnilab show': the host and each named namespace as a box (a pod as
namespace/name), the pause holder and containers inside, interfaces with addresses, veth pairs, bridges with
their ports, routes on click. Changes show as they happen. Filters: everything, pods only, one run. A lab
run with 'cnilab run <lab> --ui' shows its steps, commands and checks too. Ctrl-C stops it.

  --port N        port (default ${DEFAULT_PORT}; 0 picks a free one)
  --listen ADDR   listen on this IP address instead of 127.0.0.1 (the token is still needed)
  --open          open the page in the desktop's browser (xdg-open)
  --trace FILE    draw a trace (the JSON of 'cnilab trace --json') as a highlighted path

Safe by default: 127.0.0.1 only, every request needs the token (a cookie after the first visit), Host and
Origin are checked, anything that changes state is a POST with the token, and no endpoint runs a command.`,
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        port: { type: "string" },
        listen: { type: "string" },
        open: { type: "boolean" },
        trace: { type: "string" },
      },
    });
    if (positionals.length > 0) {
      throw new UsageError(`unexpected argument '${positionals[0]}'; see cnilab ui --help`);
    }
    const port = values.port === undefined ? DEFAULT_PORT : Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new UsageError(`--port ${values.port}: expected a port number 0-65535`);
    }
    const hostname = values.listen ?? "127.0.0.1";
    if (isIP(hostname) === 0) {
      throw new UsageError(`--listen ${hostname}: expected an IP address, e.g. 127.0.0.1`);
    }
    let trace;
    if (values.trace !== undefined) {
      try {
        trace = parseTrace(JSON.parse(readFileSync(values.trace, "utf8")));
      } catch (e) {
        throw new UsageError(`--trace ${values.trace}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    if (typeof (globalThis as { Bun?: unknown }).Bun === "undefined") {
      throw new UsageError("cnilab ui runs under Bun (Bun.serve): run it without CNILAB_RUNTIME=deno");
    }
    requireRoot();
    let live;
    try {
      live = await serveLive({ hostname, port });
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      if (/EADDRINUSE|in use/i.test(msg)) {
        throw new UsageError(`port ${port} is in use: pass --port N (0 picks a free one)`);
      }
      throw new UsageError(`could not listen on ${hostname}:${port}: ${msg.split("\n")[0]}`);
    }
    if (trace) live.server.trace(trace);
    console.log(`cnilab ui: open ${live.server.url}`);
    if (hostname !== "127.0.0.1" && hostname !== "::1") {
      console.log(
        `cnilab ui: listening on ${hostname}: whoever reaches it with the token sees this host's network`,
      );
    }
    console.log("cnilab ui: Ctrl-C stops it");
    if (values.open) {
      const opener = which("xdg-open");
      if (opener) spawn(opener, [live.server.url], { stdio: "ignore", detached: true }).unref();
      else console.log("cnilab ui: no xdg-open here: open the URL above in a browser");
    }
    await new Promise<void>((resolve) => {
      process.once("SIGINT", resolve);
      process.once("SIGTERM", resolve);
    });
    live.close();
    return Exit.Ok;
  },
};
