#!/usr/bin/env bun
/**
 * ex-hello, the reference plugin in TypeScript with zx (run by cnilab's Bun: solution.sh puts Bun's path on
 * the first line). A veth pair: $CNI_IFNAME in the pod with the config's address, exo<hex> on the host.
 */
import { existsSync } from "node:fs";
import process from "node:process";
import { $, stdin } from "zx";

const version = "1.0.0";
// read the config every time, also when it is not needed: the runtime writes it to stdin
const conf = JSON.parse((await stdin()) || "{}") as { address?: string };
const ifname = process.env.CNI_IFNAME ?? "eth0";
const netnsPath = process.env.CNI_NETNS ?? "";
const ns = netnsPath.split("/").pop() ?? "";

/** A CNI error result on stdout, and exit 1. */
function fail(code: number, msg: string): never {
  console.log(JSON.stringify({ cniVersion: version, code, msg }));
  process.exit(1);
}

switch (process.env.CNI_COMMAND) {
  case "VERSION":
    console.log(JSON.stringify({ cniVersion: version, supportedVersions: [version] }));
    break;
  case "ADD": {
    if (!conf.address) fail(7, "the network config has no address");
    const host = `exo${crypto.randomUUID().slice(0, 8)}`;
    try {
      await $`ip link add ${host} type veth peer name ${ifname} netns ${ns}`;
      await $`ip link set ${host} up`;
      await $`ip -n ${ns} addr add ${conf.address} dev ${ifname}`;
      await $`ip -n ${ns} link set ${ifname} up`;
    } catch (error) {
      fail(11, String((error as { stderr?: string }).stderr ?? error).trim());
    }
    console.log(JSON.stringify({
      cniVersion: version,
      interfaces: [{ name: ifname, sandbox: netnsPath }],
      ips: [{ address: conf.address, interface: 0 }],
    }));
    break;
  }
  case "DEL":
    // idempotent: nothing to do when the namespace or the interface is gone already
    if (netnsPath && existsSync(netnsPath)) await $`ip -n ${ns} link del ${ifname}`.nothrow();
    break;
  default:
    fail(4, `unknown CNI_COMMAND ${process.env.CNI_COMMAND ?? ""}`);
}
