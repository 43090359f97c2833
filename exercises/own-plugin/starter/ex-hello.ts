#!/usr/bin/env bun
/**
 * ex-hello: your CNI plugin, in TypeScript with zx (https://google.github.io/zx/), run by cnilab's Bun.
 * `cnilab exercise start own-plugin` copied this file to ${WORK}/starter/ex-hello.ts with Bun's path on
 * the first line: copy it to ${WORK}/bin/ex-hello, make it executable, fill in ADD and DEL.
 * zx runs a command with $`ip link set ${name} up` (each ${} is passed as one argument, quoted).
 */
import process from "node:process";
import { $, stdin } from "zx";

const version = "1.0.0";
// true: zx prints each command it runs, on stderr (stdout is the protocol: only the result goes there)
$.verbose = false;
// read the config always: the runtime writes it to stdin
const conf = JSON.parse((await stdin()) || "{}") as { address?: string };

/** A CNI error result on stdout (code 7: invalid config, 11: try again later), and exit 1. */
function fail(code: number, msg: string): never {
  console.log(JSON.stringify({ cniVersion: version, code, msg }));
  process.exit(1);
}

switch (process.env.CNI_COMMAND) {
  case "VERSION":
    console.log(JSON.stringify({ cniVersion: version, supportedVersions: [version] }));
    break;
  case "ADD":
    if (!conf.address) fail(7, "the network config has no address");
    // TODO: a veth pair: CNI_IFNAME inside the namespace at CNI_NETNS (up, with conf.address), the other
    // end on the host named exo... (up). Then print the result JSON (see the task).
    break;
  case "DEL":
    // TODO: delete CNI_IFNAME in the namespace; succeed also when it or the namespace is gone.
    break;
  default:
    console.log(
      JSON.stringify({ cniVersion: version, code: 4, msg: `unknown CNI_COMMAND ${process.env.CNI_COMMAND}` }),
    );
    process.exit(1);
}
