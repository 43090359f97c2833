/**
 * cnilab's live view in the browser: `cnilab ui` and `cnilab run <lab> --ui`.
 *
 * ```ts
 * import { serveLive } from "./lib/ui/mod.ts";
 * const live = await serveLive({ port: 0 });
 * console.log(live.server.url); // http://127.0.0.1:PORT/?token=…
 * ```
 * @module
 */
import { type Reading, type TopologyWatch, watchTopology } from "./live.ts";
import { startServer, type UiServer } from "./server.ts";

export { allowedHosts, check, type GuardOptions, newToken, type Verdict } from "./guard.ts";
export { type Reading, readSnapshot, type TopologyWatch, watchTopology } from "./live.ts";
export {
  parseTrace,
  type StepAnswer,
  type TraceHop,
  type UiPod,
  type UiRun,
  type UiSnapshot,
  type UiTrace,
} from "./model.ts";
export { buildPage, type ServerOptions, startServer, type UiServer, type Waiting } from "./server.ts";
export { type LabPage, type LabPageOptions, openLabPage } from "./step.ts";

/** Options for {@link serveLive}. */
export interface LiveOptions {
  hostname?: string;
  port?: number;
  /** Where readings come from (default: the kernel, as `cnilab show` reads it). */
  read?: () => Promise<Reading>;
  /** The slow poll's period (default 1000 ms). */
  pollMs?: number;
  /** Kernel notifications on (default true). */
  notifications?: boolean;
}

/** The server with the live topology pushed to it. */
export interface Live {
  server: UiServer;
  watch: TopologyWatch;
  close(): void;
}

/** Starts the server and the topology watch (what `cnilab ui` runs). */
export async function serveLive(opts: LiveOptions = {}): Promise<Live> {
  const server = await startServer({ hostname: opts.hostname, port: opts.port });
  const watch = watchTopology((s) => server.snapshot(s), opts);
  return {
    server,
    watch,
    close() {
      watch.stop();
      server.close();
    },
  };
}
