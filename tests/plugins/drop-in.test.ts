/**
 * cnilab as a node's CNI plugins: with only cnilab's plugins in the CNI bin dir, the networks containerd
 * runs for a pod work — go-cni's own `cni-loopback` (`{"cniVersion":"0.3.1","name":"cni-loopback",
 * "plugins":[{"type":"loopback"}]}`, WithLoNetwork in containerd/go-cni opts.go, which containerd's CRI
 * plugin always loads next to the node's network) and, with `--reference-names`, a node's existing
 * conflist of `bridge` + `host-local`. A plugin cnilab did not install is never replaced.
 */
import { afterEach, beforeAll, expect, test } from "bun:test";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { addr, link } from "../../lib/iproute2/mod.ts";
import { CniNetworks } from "../../lib/runtime/mod.ts";
import { World } from "../runtime/recorder.ts";
import { ensurePlugins, hex, ROOT } from "./helpers.ts";

let world: World;
beforeAll(ensurePlugins);
afterEach(async () => {
  await world?.cleanup();
});

function install(dir: string, ...flags: string[]) {
  const p = Bun.spawnSync([`${ROOT}/bin/cnilab`, "install-plugins", "--dir", dir, ...flags], {
    env: { ...process.env, NO_COLOR: "1" },
  });
  return { code: p.exitCode, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
}

function sameFile(a: string, b: string): boolean {
  return statSync(a).ino === statSync(b).ino;
}

function recorded(dir: string): string[] {
  return (JSON.parse(readFileSync(`${dir}/.cnilab-plugins`, "utf8")) as { installed: string[] }).installed;
}

function bridgeConflist(bridgeType: string, ipamType: string, bridge: string) {
  const third = Math.floor(Math.random() * 250) + 1;
  return {
    prefix: `10.226.${third}.`,
    list: {
      cniVersion: "1.0.0",
      name: `tdrop-${hex(3)}`,
      plugins: [{
        type: bridgeType,
        bridge,
        isGateway: true,
        ipam: {
          type: ipamType,
          ranges: [[{ subnet: `10.226.${third}.0/24` }]],
          dataDir: `${world.dir}/ipam`,
        },
      }],
    },
  };
}

test(
  "install-plugins adds loopback; go-cni's cni-loopback and a cnilab-bridge network run with only cnilab's plugins",
  async () => {
    world = new World();
    const bin = `${world.dir}/opt-cni-bin`;
    const r = install(bin);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`${bin}/loopback  (hard link to cnilab-plugin)`);
    expect(sameFile(`${bin}/loopback`, `${bin}/cnilab-plugin`)).toBe(true);
    expect(recorded(bin)).toContain("loopback");
    expect(existsSync(`${bin}/bridge`)).toBe(false); // only with --reference-names

    const { list, prefix } = bridgeConflist("cnilab-bridge", "cnilab-host-local", world.bridgeName());
    world.writeConf("10-node.conflist", list);
    // the runtime's loopback network is go-cni's, byte for byte in meaning
    const cni = await CniNetworks.load({
      confDir: world.conf,
      binDirs: [bin],
      cacheDir: world.cache,
      lockDir: world.locks,
    });
    expect(cni.networks[0].ifName).toBe("lo");
    expect(cni.networks[0].config.name).toBe("cni-loopback");
    expect(cni.networks[0].config.cniVersion).toBe("0.3.1");
    expect(cni.networks[0].config.plugins.map((p) => p.type)).toEqual(["loopback"]);

    const ns = await world.netns();
    expect((await link.get("lo", { netns: ns.name }))?.up).toBe(false);
    const id = `tdrop-${hex(4)}`;
    const res = await cni.setup(id, ns.path);
    expect(res.networks.map((n) => `${n.ifName} ${n.name}`)).toEqual([
      "lo cni-loopback",
      `eth0 ${list.name}`,
    ]);
    expect((await link.get("lo", { netns: ns.name }))?.up).toBe(true);
    const v4 = await addr.list({ netns: ns.name, family: 4 });
    expect(v4.find((a) => a.dev === "lo")?.cidr).toBe("127.0.0.1/8");
    expect(v4.find((a) => a.dev === "eth0")?.local.startsWith(prefix)).toBe(true);
    await cni.remove(id, ns.path);
    expect(await link.get("eth0", { netns: ns.name })).toBeUndefined();
    expect((await link.get("lo", { netns: ns.name }))?.up).toBe(false);
  },
  60_000,
);

test(
  "--reference-names: a node's bridge + host-local conflist runs cnilab's plugins under those names",
  async () => {
    world = new World();
    const bin = `${world.dir}/opt-cni-bin`;
    const r = install(bin, "--reference-names");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    for (const name of ["bridge", "host-local", "loopback"]) {
      expect(r.stdout).toContain(`${bin}/${name}  (hard link to cnilab-plugin)`);
      expect(sameFile(`${bin}/${name}`, `${bin}/cnilab-plugin`)).toBe(true);
    }
    expect(recorded(bin)).toEqual(expect.arrayContaining(["bridge", "host-local", "loopback"]));

    const { list, prefix } = bridgeConflist("bridge", "host-local", world.bridgeName());
    world.writeConf("10-node.conflist", list);
    const cni = await CniNetworks.load({
      confDir: world.conf,
      binDirs: [bin],
      cacheDir: world.cache,
      lockDir: world.locks,
    });
    const ns = await world.netns();
    const id = `tdrop-${hex(4)}`;
    const res = await cni.setup(id, ns.path);
    expect(res.interfaces.eth0.ipConfigs[0].ip.startsWith(prefix)).toBe(true);
    // cnilab's host-local keeps its reservations as the reference does: one file per address, named by it
    expect(existsSync(`${world.dir}/ipam/${list.name}/${res.interfaces.eth0.ipConfigs[0].ip}`)).toBe(true);
    await cni.remove(id, ns.path);
    expect(existsSync(`${world.dir}/ipam/${list.name}/${res.interfaces.eth0.ipConfigs[0].ip}`)).toBe(false);

    // installing again (an upgrade) keeps every name cnilab's
    expect(install(bin).code).toBe(0);
    for (const name of ["bridge", "host-local", "loopback"]) {
      expect(sameFile(`${bin}/${name}`, `${bin}/cnilab-plugin`)).toBe(true);
    }
  },
  60_000,
);

test("a plugin cnilab did not install is never replaced", () => {
  world = new World();
  const bin = `${world.dir}/opt-cni-bin`;
  Bun.spawnSync(["mkdir", "-p", bin]);
  const theirs = "#!/bin/sh\n# the node's own loopback\nexit 0\n";
  writeFileSync(`${bin}/loopback`, theirs, { mode: 0o755 });
  writeFileSync(`${bin}/bridge`, theirs, { mode: 0o755 });

  const plain = install(bin);
  expect(plain.code).toBe(0);
  expect(plain.stdout).toContain(`${bin}/loopback  left alone: cnilab did not install it`);
  expect(readFileSync(`${bin}/loopback`, "utf8")).toBe(theirs);
  expect(recorded(bin)).not.toContain("loopback");

  const ref = install(bin, "--reference-names");
  expect(ref.code).toBe(2);
  expect(ref.stderr.trim()).toBe(
    `cnilab install-plugins: ${bin}/bridge, ${bin}/loopback are plugins cnilab did not install; ` +
      "move them away first",
  );
  expect(readFileSync(`${bin}/bridge`, "utf8")).toBe(theirs);
  expect(readFileSync(`${bin}/loopback`, "utf8")).toBe(theirs);
  expect(existsSync(`${bin}/host-local`)).toBe(false);
});
