/**
 * The argument layer every command shares: node:util's parseArgs, with its errors turned into one line a
 * user can act on (what is wrong, and where to look), exit code 2.
 * @module
 */
import { parseArgs as nodeParseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "./command.ts";

/**
 * A parseArgs error (Node, Bun and Deno word them differently, all carry ERR_PARSE_ARGS_* codes) as a
 * {@link UsageError}; undefined when it is not one.
 */
export function usageErrorOf(error: unknown): UsageError | undefined {
  if (!(error instanceof Error)) return undefined;
  const code = (error as { code?: string }).code ?? "";
  if (
    !code.startsWith("ERR_PARSE_ARGS") && !(error.name === "TypeError" && /parseArgs/i.test(error.message))
  ) {
    return undefined;
  }
  const token = /'([^']+)'/.exec(error.message)?.[1] ?? "";
  switch (code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return new UsageError(`unknown option '${token}'`);
    case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
      return new UsageError(`unexpected argument '${token}'`);
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE": {
      const option = /(--[\w-]+)/.exec(error.message)?.[1] ?? token;
      return /argument missing|requires an? .*value/i.test(error.message) || /<value>/.test(error.message)
        ? new UsageError(`option '${option}' needs a value`)
        : new UsageError(`option '${option}' takes no value`);
    }
    default:
      return new UsageError(error.message.split("\n")[0].replace(/\.?\s*To specify.*$/, ""));
  }
}

/** parseArgs whose mistakes are {@link UsageError}s. */
export function parseArgs<T extends ParseArgsConfig>(config: T): ReturnType<typeof nodeParseArgs<T>> {
  try {
    return nodeParseArgs(config);
  } catch (error) {
    throw usageErrorOf(error) ?? error;
  }
}

/** Refuses more positional arguments than a command takes. */
export function atMost(positionals: string[], n: number): void {
  if (positionals.length > n) throw new UsageError(`unexpected argument '${positionals[n]}'`);
}
