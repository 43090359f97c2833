/**
 * The registry of check kinds: each key of a check in checks.yaml names one kind, in a file of its own
 * beside this one (the way dax registers its built-in commands). The order is the order a spec's keys are
 * tried in. A new kind is a new file and one line here.
 * @module
 */
import type { Kind } from "./_kind.ts";
import { requireCheck } from "./require.ts";
import { requireLinkCheck } from "./require-link.ts";
import { processCheck } from "./process.ts";
import { readCheck } from "./read.ts";
import { findCheck } from "./find.ts";
import { linkCheck } from "./link.ts";
import { addrCheck } from "./addr.ts";
import { routeCheck } from "./route.ts";
import { pingCheck } from "./ping.ts";
import { fileCheck } from "./file.ts";
import { filesCheck } from "./files.ts";
import { runCheck } from "./run.ts";
import { confCheck } from "./conf.ts";
import { containerdCheck } from "./containerd.ts";
import { pluginsCheck } from "./plugins.ts";
import { podCheck } from "./pod.ts";
import { codeCheck } from "./code.ts";

/** The kinds, by the key that names them in checks.yaml. */
export const KINDS: Record<string, Kind> = {
  require: requireCheck,
  require_link: requireLinkCheck,
  process: processCheck,
  read: readCheck,
  find: findCheck,
  link: linkCheck,
  addr: addrCheck,
  route: routeCheck,
  ping: pingCheck,
  file: fileCheck,
  files: filesCheck,
  run: runCheck,
  conf: confCheck,
  containerd: containerdCheck,
  plugins: pluginsCheck,
  pod: podCheck,
  code: codeCheck,
};
