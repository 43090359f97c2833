/**
 * Config discovery: go-cni's conf dir loading (what containerd does) and libcni's lookup by name (what
 * cnitool does), including the bad-input cases: missing dir, no valid config, a broken file beside a
 * valid one.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { CniNetworks, ConfigError, loadConfDir, loadNetworkConf } from "../../lib/runtime/mod.ts";
import { REFERENCE_BIN, World } from "./recorder.ts";

let world: World;
let warnings: string[];
const warn = (m: string) => warnings.push(m);

beforeEach(() => {
  world = new World();
  warnings = [];
});
afterEach(async () => {
  await world.cleanup();
});

const list = (name: string, type = "bridge") => ({ cniVersion: "1.0.0", name, plugins: [{ type }] });
const single = (name: string, type = "bridge") => ({ cniVersion: "0.4.0", name, type, bridge: "x0" });

describe("go-cni / containerd: loadConfDir and CniNetworks.load", () => {
  test(".conf, .conflist and .json sorted together byte-wise; eth0, eth1, … in that order, lo first", async () => {
    world.writeConf("20-a.json", single("net-json"));
    world.writeConf("10-b.conf", single("net-conf"));
    world.writeConf("05-z.conflist", list("net-list"));
    world.writeConf("README.md", "not a config");
    mkdirSync(join(world.conf, "99-dir.conflist"));
    const cni = await CniNetworks.load({
      confDir: world.conf,
      binDirs: [REFERENCE_BIN],
      maxConfNum: 0,
      onWarning: warn,
    });
    expect(cni.networks.map((n) => `${n.ifName} ${n.config.name}`)).toEqual([
      "lo cni-loopback",
      "eth0 net-list",
      "eth1 net-conf",
      "eth2 net-json",
    ]);
    // a .conf is up-converted into a one-plugin list carrying the file's own keys
    const conf = cni.networks[2].config;
    expect(conf.plugins).toEqual([{ cniVersion: "0.4.0", name: "net-conf", type: "bridge", bridge: "x0" }]);
    expect(conf.cniVersion).toBe("0.4.0");
    expect(JSON.parse(conf.bytes)).toEqual({ name: "net-conf", cniVersion: "0.4.0", plugins: conf.plugins });
    // the loopback network is go-cni's
    expect(cni.networks[0].config.cniVersion).toBe("0.3.1");
    expect(cni.networks[0].config.plugins).toEqual([{ type: "loopback" }]);
    expect(warnings).toEqual([]);
  });

  test("max_conf_num defaults to 1: only the first file in byte order is used", async () => {
    world.writeConf("9-late.conflist", list("late"));
    world.writeConf("10-early.conflist", list("early")); // "1" < "9" byte-wise
    world.writeConf("Z-upper.conflist", list("upper")); // "Z" (0x5a) sorts after digits
    const cni = await CniNetworks.load({ confDir: world.conf, binDirs: [REFERENCE_BIN] });
    expect(cni.networks.map((n) => n.config.name)).toEqual(["cni-loopback", "early"]);
    const two = loadConfDir(world.conf, { maxConfNum: 2 });
    expect(two.map((l) => l.name)).toEqual(["early", "late"]);
  });

  test("an unparsable file next to a valid one is skipped with a warning naming it", () => {
    world.writeConf("00-broken.conflist", "{ this is not json");
    world.writeConf("01-conflist-in-conf.conf", list("wrong-ext"));
    world.writeConf("02-no-type.conflist", { cniVersion: "1.0.0", name: "nt", plugins: [{}] });
    world.writeConf("10-ok.conflist", list("ok"));
    const lists = loadConfDir(world.conf, { onWarning: warn });
    expect(lists.map((l) => l.name)).toEqual(["ok"]);
    expect(warnings.length).toBe(3);
    expect(warnings[0]).toContain(join(world.conf, "00-broken.conflist"));
    expect(warnings[1]).toContain("network type not found");
    expect(warnings[2]).toContain("missing 'type'");
  });

  test("strict mode (go-cni's own behaviour) fails on the broken file instead", () => {
    world.writeConf("00-broken.conflist", "{");
    world.writeConf("10-ok.conflist", list("ok"));
    expect(() => loadConfDir(world.conf, { strict: true })).toThrow(join(world.conf, "00-broken.conflist"));
  });

  test("a plugin no bin dir has fails the load, naming the plugin and the dirs (go-cni checkPluginExists)", async () => {
    world.writeConf("10-net.conflist", list("net", "no-such-plugin"));
    const error = await CniNetworks.load({ confDir: world.conf, binDirs: [REFERENCE_BIN, world.bin] }).catch((
      e,
    ) => e);
    expect(error.message).toBe(
      `unable to find cni plugins no-such-plugin in directories ${REFERENCE_BIN}, ${world.bin}`,
    );
  });

  test("a missing conf dir is an error naming the dir", async () => {
    const dir = join(world.dir, "no-such-dir");
    const error = await CniNetworks.load({ confDir: dir }).catch((e) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe(`CNI config directory ${dir} does not exist`);
  });

  test("a conf dir with no config, or only invalid ones, is an error naming the dir", () => {
    expect(() => loadConfDir(world.conf)).toThrow(`no network config found in ${world.conf}`);
    world.writeConf("10-bad.conflist", "[]");
    world.writeConf("20-bad.conf", { name: "x" });
    expect(() => loadConfDir(world.conf, { onWarning: warn })).toThrow(
      `no valid network config found in ${world.conf}`,
    );
    expect(warnings.length).toBe(2);
  });

  test("a list with no supported version is skipped like any invalid file", () => {
    world.writeConf("10-future.conflist", { cniVersion: "9.9.9", name: "f", plugins: [{ type: "x" }] });
    world.writeConf("20-ok.conflist", list("ok"));
    expect(loadConfDir(world.conf, { onWarning: warn }).map((l) => l.name)).toEqual(["ok"]);
    expect(warnings[0]).toContain("no supported cniVersion");
  });

  test("plugin configs may live beside the list in <dir>/<name>/*.conf (libcni)", () => {
    world.writeConf("10-split.conflist", { cniVersion: "1.1.0", name: "split" });
    mkdirSync(join(world.conf, "split"));
    world.writeConf("split/20-b.conf", { type: "b" });
    world.writeConf("split/10-a.conf", { type: "a" });
    expect(loadConfDir(world.conf)[0].plugins.map((p) => p.type)).toEqual(["a", "b"]);
  });

  test("disableCheck/disableGC accept booleans and the strings true/false, nothing else", () => {
    world.writeConf("10-a.conflist", { ...list("a"), disableCheck: "true", disableGC: true });
    expect(loadConfDir(world.conf)[0]).toMatchObject({ disableCheck: true, disableGC: true });
    world.writeConf("05-b.conflist", { ...list("b"), disableCheck: "yes" });
    expect(() => loadConfDir(world.conf, { strict: true })).toThrow("invalid value");
  });
});

describe("libcni / cnitool: loadNetworkConf(dir, name)", () => {
  test("a .conflist with the name wins over a .conf that sorts earlier", () => {
    world.writeConf("00-net.conf", single("net", "from-conf"));
    world.writeConf("50-net.conflist", list("net", "from-conflist"));
    expect(loadNetworkConf(world.conf, "net").plugins[0].type).toBe("from-conflist");
  });

  test("a .conf or .json is found and up-converted when no list has the name", () => {
    world.writeConf("10-other.conflist", list("other"));
    world.writeConf("20-net.json", single("net", "from-json"));
    const conf = loadNetworkConf(world.conf, "net");
    expect(conf.plugins.map((p) => p.type)).toEqual(["from-json"]);
    expect(conf.file).toBe(join(world.conf, "20-net.json"));
  });

  test("an unknown name names the dir; an empty dir says so", () => {
    expect(() => loadNetworkConf(world.conf, "net")).toThrow(`no net configurations found in ${world.conf}`);
    world.writeConf("10-other.conflist", list("other"));
    expect(() => loadNetworkConf(world.conf, "net")).toThrow(
      `no net configuration with name "net" in ${world.conf}`,
    );
  });

  test("a broken file for another network is skipped with a warning; a broken file for this one is an error", () => {
    world.writeConf("00-junk.conflist", "{{{");
    world.writeConf("10-net.conflist", list("net"));
    expect(loadNetworkConf(world.conf, "net", warn).name).toBe("net");
    expect(warnings[0]).toContain("00-junk.conflist");
    world.writeConf("05-mine.conflist", { cniVersion: "1.0.0", name: "mine", plugins: [] });
    expect(() => loadNetworkConf(world.conf, "mine", warn)).toThrow(/05-mine.conflist: no plugins in list/);
  });
});
