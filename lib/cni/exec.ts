/**
 * Delegation: a plugin running another plugin, the way the reference bridge runs its IPAM plugin.
 *
 * The delegate is found by `type` along CNI_PATH (type non-empty, no `/`; the first regular executable file
 * wins), runs with the same environment except CNI_COMMAND, and gets the config on stdin. Its result is
 * parsed into the 1.x shape; its error JSON into a {@link CniError} with the delegate's code.
 * @module
 */
import { run } from "../shell/mod.ts";
import { statPath } from "../sys/fs.ts";
import { CniError, ErrorCode } from "./errors.ts";
import type { CniCommand, Result } from "./types.ts";
import { parseResult } from "./version.ts";

/** Finds the executable for plugin `type` in the CNI_PATH directories (first regular executable file wins). */
export function findPlugin(type: string, path: readonly string[]): string {
  if (type === "" || type.includes("/")) {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      `invalid plugin type ${JSON.stringify(type)}`,
      "a plugin type is a file name: non-empty, without /",
    );
  }
  for (const dir of path) {
    const candidate = `${dir}/${type}`;
    try {
      const st = statPath(candidate);
      if (st?.isFile && (st.mode & 0o111) !== 0) return candidate;
    } catch {
      // not in this directory
    }
  }
  throw new CniError(
    ErrorCode.InvalidNetworkConfig,
    `failed to find plugin ${JSON.stringify(type)} in path ${JSON.stringify(path)}`,
    "install it into one of the CNI_PATH directories or fix CNI_PATH",
  );
}

/**
 * Runs plugin `type` for `command` with `stdin` as its config (and `extraEnv` added to the environment).
 * ADD resolves to its result (1.x shape); the other commands to undefined. A failure rejects with the
 * delegate's own CniError.
 */
export async function execPlugin(
  type: string,
  command: Exclude<CniCommand, "VERSION">,
  stdin: string,
  path: readonly string[],
  extraEnv: Record<string, string> = {},
): Promise<Result | undefined> {
  const exe = findPlugin(type, path);
  const env = { ...extraEnv, CNI_COMMAND: command };
  let r = await run([exe], { stdin, env, check: false });
  // like libcni: a plugin binary being written right now is "text file busy"; try again a few times
  for (let i = 0; i < 5 && r.code === 126 && /ETXTBSY|text file busy/i.test(r.stderr); i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    r = await run([exe], { stdin, env, check: false });
  }
  if (r.code !== 0) {
    const e = CniError.parse(r.stdout);
    if (e) throw e;
    const said = (r.stderr.trim() || r.stdout.trim()).slice(0, 300);
    throw new CniError(ErrorCode.Internal, `plugin ${type} ${command} failed with exit code ${r.code}`, said);
  }
  if (command !== "ADD") return undefined;
  let json: unknown;
  try {
    json = JSON.parse(r.stdout);
  } catch {
    throw new CniError(
      ErrorCode.DecodingFailure,
      `plugin ${type} printed no JSON result`,
      r.stdout.slice(0, 300),
    );
  }
  return parseResult(json, `the result of plugin ${type}`);
}
