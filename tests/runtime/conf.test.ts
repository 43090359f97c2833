/**
 * Config discovery: go-cni's conf dir loading (what containerd does: go-cni opts.go `loadFromConfDir`,
 * cni.go `Load`/`Status`) and libcni's lookup by name (what cnitool does: libcni conf.go `LoadNetworkConf`),
 * including the bad-input cases: missing dir, no config, a broken file before, after or beside a valid one.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { CniNetworks, ConfigError, loadConfDir, loadNetworkConf } from "../../lib/runtime/mod.ts";
import { REFERENCE_BIN, World } from "./recorder.ts";

let world: World;

beforeEach(() => {
  world = new World();
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

  test("go-cni: the first invalid file stops the load, naming it; the valid file after it is never loaded", () => {
    // go-cni opts.go loadFromConfDir: `return fmt.Errorf("failed to load CNI config list file %s: %v: %w", …, ErrInvalidConfig)`
    world.writeConf("00-broken.conflist", "{ this is not json");
    world.writeConf("10-ok.conflist", list("ok"));
    const file = join(world.conf, "00-broken.conflist");
    const error = (() => {
      try {
        loadConfDir(world.conf);
      } catch (e) {
        return e as Error;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.message).toStartWith(
      `failed to load CNI config list file ${file}: error parsing configuration list`,
    );
    expect(error!.message).toEndWith(": invalid cni config");
  });

  test("go-cni: each kind of invalid file has go-cni's message", () => {
    const cases: [string, unknown, RegExp][] = [
      [
        "01-conflist-in-conf.conf",
        list("wrong-ext"),
        /^failed to load CNI config file .*01-conflist-in-conf\.conf: .*: invalid cni config$/,
      ],
      [
        "02-no-type.conflist",
        { cniVersion: "1.0.0", name: "nt", plugins: [{}] },
        /^failed to load CNI config list file .*02-no-type\.conflist: .*missing 'type'.*: invalid cni config$/,
      ],
      [
        "03-no-plugins.conflist",
        { cniVersion: "1.0.0", name: "np" },
        /^CNI config list in config file .*03-no-plugins\.conflist has no networks, skipping: invalid cni config$/,
      ],
      [
        "04-future.conflist",
        { cniVersion: "9.9.9", name: "f", plugins: [{ type: "x" }] },
        /04-future\.conflist: .*no supported cniVersion.*: invalid cni config$/,
      ],
    ];
    world.writeConf("10-ok.conflist", list("ok"));
    for (const [file, content, message] of cases) {
      world.writeConf(file, content);
      expect(() => loadConfDir(world.conf)).toThrow(message);
      rmSync(join(world.conf, file));
    }
    expect(loadConfDir(world.conf).map((l) => l.name)).toEqual(["ok"]);
  });

  test("go-cni: an invalid file after the first max_conf_num is never read", () => {
    world.writeConf("10-ok.conflist", list("ok"));
    world.writeConf("20-broken.conflist", "{");
    expect(loadConfDir(world.conf, { maxConfNum: 1 }).map((l) => l.name)).toEqual(["ok"]);
    expect(() => loadConfDir(world.conf, { maxConfNum: 2 })).toThrow(
      /20-broken\.conflist.*invalid cni config$/,
    );
  });

  test("containerd keeps only cni-loopback after a failed load: not ready, setup refused with go-cni's error", async () => {
    world.writeConf("05-broken.conflist", "{");
    world.writeConf("10-ok.conflist", list("ok"));
    const cni = CniNetworks.loadForCri({ confDir: world.conf, binDirs: [REFERENCE_BIN] });
    expect(cni.networks.map((n) => n.config.name)).toEqual(["cni-loopback"]);
    expect(cni.loadError?.message).toContain(join(world.conf, "05-broken.conflist"));
    await expect(cni.status()).rejects.toThrow(/^cni plugin not initialized$/);
    await expect(cni.setup("a".repeat(64), "/var/run/netns/none")).rejects.toThrow(
      /^cni plugin not initialized$/,
    );
    // CniNetworks.load throws the load error itself
    await expect(CniNetworks.load({ confDir: world.conf, binDirs: [REFERENCE_BIN] })).rejects.toThrow(
      /05-broken\.conflist.*invalid cni config$/,
    );
    // removing the file: the next load is ready
    rmSync(join(world.conf, "05-broken.conflist"));
    const ready = CniNetworks.loadForCri({ confDir: world.conf, binDirs: [REFERENCE_BIN] });
    expect(ready.loadError).toBeUndefined();
    expect(ready.networks.map((n) => n.config.name)).toEqual(["cni-loopback", "ok"]);
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

  test("a conf dir with no config is go-cni's not-initialized error naming the dir", () => {
    expect(() => loadConfDir(world.conf)).toThrow(
      `no network config found in ${world.conf}: cni plugin not initialized`,
    );
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
    expect(() => loadConfDir(world.conf)).toThrow("invalid value");
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

  test("libcni: a file that does not parse and sorts before the match fails the lookup (LoadNetworkConf)", () => {
    world.writeConf("00-junk.conflist", "{{{");
    world.writeConf("10-net.conflist", list("net"));
    expect(() => loadNetworkConf(world.conf, "net")).toThrow(
      new RegExp(`^invalid CNI config ${join(world.conf, "00-junk.conflist")}: `),
    );
  });

  test("libcni: files after the match are never read, and .conf files not when a .conflist matches", () => {
    world.writeConf("00-junk.conf", "{{{");
    world.writeConf("10-net.conflist", list("net"));
    world.writeConf("20-junk.conflist", "{{{");
    expect(loadNetworkConf(world.conf, "net").name).toBe("net");
    // go-cni reads all three extensions in one order: it stops at 00-junk.conf
    expect(() => loadConfDir(world.conf)).toThrow(/00-junk\.conf: .*invalid cni config$/);
  });
});
