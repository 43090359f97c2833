/**
 * 50 ADDs started at once on one network, on a bridge that does not exist yet (so they race to create it):
 * 50 distinct addresses, every pod reaches the gateway, and 50 parallel DELs leave the data directory with
 * only its bookkeeping files. Once with cnilab-bridge + cnilab-host-local only, once half of them with the
 * reference bridge + reference host-local on the same bridge and the same data directory.
 *
 * The "host" side is a namespace this test makes: the plugins run inside it (`ip netns exec`), so the
 * bridge, its gateway address and the forwarding sysctl live there, and every ping stays between
 * namespaces the test created.
 */
import { afterEach, beforeAll, expect, test } from "bun:test";
import { chmodSync, readdirSync, writeFileSync } from "node:fs";
import { batch, commands, link } from "../../lib/iproute2/mod.ts";
import { run } from "../../lib/shell/mod.ts";
import {
  cnilab,
  CNILAB_BIN,
  ensurePlugins,
  hex,
  type PluginRun,
  REF_BIN,
  reference,
  removeDir,
  runPlugin,
  tempDir,
} from "./helpers.ts";

const PODS = 50;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
beforeAll(ensurePlugins);

/** A bridge plugin and the IPAM plugin it delegates to. */
interface Pair {
  exe: string;
  type: string;
  ipamType: string;
}
const CNILAB: Pair = { exe: cnilab("bridge"), type: "cnilab-bridge", ipamType: "cnilab-host-local" };
const REFERENCE: Pair = { exe: reference("bridge"), type: "bridge", ipamType: "host-local" };

/** Runs the scenario with pod i handled by `pairFor(i)`. */
async function fiftyAtOnce(pairFor: (i: number) => Pair): Promise<void> {
  const id = hex(3);
  const host = `tbc-${id}-host`;
  const pods = Array.from({ length: PODS }, (_, i) => `tbc-${id}-${i}`);
  const dir = tempDir("tbc-ipam");
  cleanups.push(() => removeDir(dir));
  cleanups.push(async () => {
    // deleting the host namespace deletes the bridge inside it; pod namespaces take their veth ends along
    for (const ns of [host, ...pods]) await run(["ip", "netns", "del", ns], { check: false });
  });
  await batch([host, ...pods].map((ns) => commands.netnsAdd(ns)));

  // each plugin runs inside the test's "host" namespace
  const wrappers = new Map<string, string>();
  for (const pair of [CNILAB, REFERENCE]) {
    const wrapper = `${dir}/${pair.type}-in-${host}`;
    writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${host} ${pair.exe}\n`);
    chmodSync(wrapper, 0o755);
    wrappers.set(pair.exe, wrapper);
  }

  const subnet = `10.${200 + (parseInt(id.slice(0, 2), 16) % 40)}.${parseInt(id.slice(2, 4), 16)}`;
  const network = `tbc-net-${id}`;
  const bridge = `tbc${id}`;
  const call = (command: "ADD" | "DEL", i: number): Promise<PluginRun> => {
    const pair = pairFor(i);
    return runPlugin(wrappers.get(pair.exe)!, {
      command,
      containerId: `pod-${i}`,
      netns: `/var/run/netns/${pods[i]}`,
      ifname: "eth0",
      path: `${CNILAB_BIN}:${REF_BIN}`,
      config: {
        cniVersion: "1.0.0",
        name: network,
        type: pair.type,
        bridge,
        isDefaultGateway: true,
        ipam: { type: pair.ipamType, subnet: `${subnet}.0/24`, dataDir: dir },
      },
    });
  };

  const adds = await Promise.all(pods.map((_, i) => call("ADD", i)));
  const failed = adds.map((r, i) => ({ i, r })).filter(({ r }) => r.code !== 0);
  expect(failed.map(({ i, r }) => `pod ${i}: ${r.stdout}${r.stderr}`)).toEqual([]);

  const addresses = adds.map((r) => (r.json?.ips as { address: string }[])[0].address.split("/")[0]);
  expect(new Set(addresses).size).toBe(PODS);
  for (const a of addresses) expect(a.startsWith(`${subnet}.`)).toBe(true);

  // one bridge with all 50 ports, the gateway on it
  const hostLinks = await link.list({ netns: host });
  expect(hostLinks.filter((l) => l.name === bridge).map((l) => l.kind)).toEqual(["bridge"]);
  expect(hostLinks.filter((l) => l.master === bridge)).toHaveLength(PODS);

  // every pod reaches the gateway (the bridge's address, inside the test's host namespace)
  const pings = await Promise.all(
    pods.map((ns) =>
      run(["ip", "netns", "exec", ns, "ping", "-c", "1", "-W", "5", `${subnet}.1`], {
        check: false,
        purpose: "read",
      })
    ),
  );
  expect(pings.map((p, i) => (p.code === 0 ? "ok" : `pod ${i}: ${p.stdout}`)).filter((s) => s !== "ok"))
    .toEqual([]);

  const dels = await Promise.all(pods.map((_, i) => call("DEL", i)));
  expect(dels.filter((r) => r.code !== 0).map((r) => r.stdout)).toEqual([]);
  expect(readdirSync(`${dir}/${network}`).sort()).toEqual(["last_reserved_ip.0", "lock"]);
  expect((await link.list({ netns: host })).filter((l) => l.master === bridge)).toEqual([]);
}

test(`${PODS} concurrent cnilab-bridge ADDs and DELs on one new bridge`, async () => {
  await fiftyAtOnce(() => CNILAB);
}, 180_000);

test(`${PODS} concurrent ADDs and DELs, every other one by the reference bridge + host-local`, async () => {
  await fiftyAtOnce((i) => (i % 2 === 0 ? CNILAB : REFERENCE));
}, 180_000);
