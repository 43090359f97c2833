/**
 * `cnilab bench <what>`: benchmarks are programs that print tables (tests never assert on time).
 *
 * Each benchmark is a module under lib/bench/ exporting `benchmark` ({@link Benchmark}); it is loaded only
 * when asked for. To add one, add one line to {@link BENCHMARKS}.
 * @module
 */
import { terminalWidth, wrapAligned } from "../text/mod.ts";
import { type Command, Exit, UsageError } from "./command.ts";
import { requireRoot } from "./env.ts";

/** What a benchmark module exports as `benchmark`. */
export interface Benchmark {
  /** One line for `cnilab bench --help`. */
  summary: string;
  /** Full usage text for `cnilab bench <what> --help`. */
  usage: string;
  /** Needs root (creates namespaces): the CLI refuses before it runs, in one line. */
  root?: boolean;
  /** Runs with the arguments after `<what>`; resolves to the exit code. */
  run(argv: string[]): Promise<number>;
}

/** Every benchmark, by name: `cnilab bench <name>`. */
export const BENCHMARKS: Record<string, () => Promise<{ benchmark: Benchmark }>> = {
  plugin: () => import("../bench/plugin.ts"),
  sandbox: () => import("../bench/sandbox.ts"),
  trace: () => import("../bench/trace.ts"),
  ui: () => import("../ui/bench.ts"),
};

async function usage(): Promise<string> {
  const lines = await Promise.all(
    Object.entries(BENCHMARKS).map(async ([name, load]) =>
      `  ${name.padEnd(10)} ${(await load()).benchmark.summary}`
    ),
  );
  return `usage: cnilab bench <what> [options]   (cnilab bench help <what> shows its options)

benchmarks:
${lines.join("\n")}`;
}

/** `cnilab bench`. */
export const bench: Command = {
  name: "bench",
  summary:
    "benchmarks that print tables and ratios: plugin (vs the reference plugins), sandbox (pods at scale)",
  usage: `usage: cnilab bench <what> [options]; what: ${Object.keys(BENCHMARKS).join(", ")}
       cnilab bench                 lists the benchmarks
       cnilab bench help <what>     shows the options of one`,
  async run(argv: string[]): Promise<number> {
    const [what, ...rest] = argv;
    if (what === undefined || what === "-h" || what === "--help") {
      console.log(wrapAligned(await usage(), terminalWidth()));
      return what === undefined ? Exit.NotReady : Exit.Ok;
    }
    // `cnilab <command> --help` never reaches a command, so a benchmark's options are behind `help <what>`
    if (what === "help") {
      const target = rest[0] === undefined ? undefined : BENCHMARKS[rest[0]];
      console.log(wrapAligned(target ? (await target()).benchmark.usage : await usage(), terminalWidth()));
      return Exit.Ok;
    }
    const load = BENCHMARKS[what];
    if (!load) {
      throw new UsageError(
        `unknown benchmark ${JSON.stringify(what)}: use one of ${Object.keys(BENCHMARKS).join(", ")}`,
      );
    }
    const { benchmark } = await load();
    if (benchmark.root) requireRoot();
    try {
      return await benchmark.run(rest);
    } catch (error) {
      // a benchmark's bad-argument error (lib/bench cannot import the CLI's class: it is a lower layer)
      if (error instanceof Error && error.name === "UsageError" && !(error instanceof UsageError)) {
        throw new UsageError(error.message);
      }
      throw error;
    }
  },
};
