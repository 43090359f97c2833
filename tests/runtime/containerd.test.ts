/**
 * containerd's CRI `[cni]` settings read from real config.toml files, and `conf_template` rendered the way
 * containerd does, up to a sandbox attached with the generated config on a real namespace.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { addr } from "../../lib/iproute2/mod.ts";
import {
  applyConfTemplate,
  CniNetworks,
  CONTAINERD_CNI_DEFAULTS,
  parseContainerdConfig,
  readContainerdConfig,
  renderConfTemplate,
  toNetworkOptions,
} from "../../lib/runtime/mod.ts";
import { hex, REFERENCE_BIN, World } from "./recorder.ts";

let world: World;
beforeEach(() => {
  world = new World();
});
afterEach(async () => {
  await world.cleanup();
});

describe("config.toml", () => {
  test("the chapter's section (version 2, io.containerd.grpc.v1.cri)", () => {
    const s = parseContainerdConfig(`
version = 2
[plugins."io.containerd.grpc.v1.cri".cni]
  # CNI binary directory
  bin_dir = "/usr/lib/cni"
  conf_dir = "/etc/cni/custom.d"
  max_conf_num = 2
  conf_template = "/etc/containerd/cni.template"
`);
    expect(s).toMatchObject({
      binDirs: ["/usr/lib/cni"],
      confDir: "/etc/cni/custom.d",
      maxConfNum: 2,
      confTemplate: "/etc/containerd/cni.template",
      section: 'plugins."io.containerd.grpc.v1.cri".cni',
    });
  });

  test("containerd 2.x (version 3, io.containerd.cri.v1.runtime) with bin_dirs", () => {
    const s = parseContainerdConfig(`
version = 3
[plugins.'io.containerd.cri.v1.runtime'.cni]
  bin_dirs = ['/opt/cni/bin', '/usr/lib/cni']
  conf_dir = '/etc/cni/net.d'
  max_conf_num = 0
  setup_serially = true
  use_internal_loopback = true
# a version 2 table in a version 3 file is not what containerd 2 reads
[plugins."io.containerd.grpc.v1.cri".cni]
  bin_dir = "/wrong"
`);
    expect(s.binDirs).toEqual(["/opt/cni/bin", "/usr/lib/cni"]);
    expect(s.maxConfNum).toBe(0);
    expect(s.setupSerially).toBe(true);
    expect(toNetworkOptions(s).loopback).toBe(false);
  });

  test("version 1 ([plugins.cri.cni]) and containerd's defaults when the section or file is absent", () => {
    expect(parseContainerdConfig(`[plugins.cri.cni]\nbin_dir = "/x"\n`).binDirs).toEqual(["/x"]);
    const none = parseContainerdConfig(
      `version = 2\n[plugins."io.containerd.grpc.v1.cri"]\nsandbox_image = "pause"\n`,
    );
    expect(none).toMatchObject(CONTAINERD_CNI_DEFAULTS);
    expect(none.section).toBeUndefined();
    expect(none).toMatchObject({
      binDirs: ["/opt/cni/bin"],
      confDir: "/etc/cni/net.d",
      maxConfNum: 1,
      confTemplate: "",
    });
    expect(readContainerdConfig(join(world.dir, "missing.toml"))).toMatchObject(CONTAINERD_CNI_DEFAULTS);
  });

  test("bad input: bin_dir and bin_dirs together, wrong types, broken TOML", () => {
    const both =
      `version = 3\n[plugins."io.containerd.cri.v1.runtime".cni]\nbin_dir = "/a"\nbin_dirs = ["/b"]\n`;
    expect(() => parseContainerdConfig(both)).toThrow("cannot be set at the same time");
    const wrong = `version = 2\n[plugins."io.containerd.grpc.v1.cri".cni]\nmax_conf_num = "2"\n`;
    expect(() => parseContainerdConfig(wrong)).toThrow("max_conf_num must be a number");
    expect(() => parseContainerdConfig("[plugins\n")).toThrow("cannot parse containerd config");
  });
});

describe("conf_template", () => {
  // the template shape containerd's docs and GKE use (ptp + host-local, dual stack)
  const TEMPLATE = `{{- /* containerd CNI config template */ -}}
{
  "name": "k8s-pod-network",
  "cniVersion": "1.0.0",
  "plugins": [
    {
      "type": "ptp",
      "ipam": {
        "type": "host-local",
        "ranges": [{{range $i, $range := .PodCIDRRanges}}{{if $i}}, {{end}}[{"subnet": "{{$range}}"}]{{end}}],
        "routes": [{{range $i, $route := .Routes}}{{if $i}}, {{end}}{"dst": "{{$route}}"}{{end}}]
      }
    }
  ]
}`;

  test("renders containerd's template with the pod CIDRs and routes per family", () => {
    const data = {
      PodCIDR: "10.88.0.0/16",
      PodCIDRRanges: ["10.88.0.0/16", "fd00:88::/64"],
      Routes: ["0.0.0.0/0", "::/0"],
    };
    const out = JSON.parse(renderConfTemplate(TEMPLATE, data));
    expect(out.plugins[0].ipam.ranges).toEqual([[{ subnet: "10.88.0.0/16" }], [{ subnet: "fd00:88::/64" }]]);
    expect(out.plugins[0].ipam.routes).toEqual([{ dst: "0.0.0.0/0" }, { dst: "::/0" }]);
    expect(renderConfTemplate("{{ .PodCIDR }}|{{range .Routes}}<{{.}}>{{end}}|{{.Routes}}", data)).toBe(
      "10.88.0.0/16|<0.0.0.0/0><::/0>|[0.0.0.0/0 ::/0]",
    );
  });

  test("template features outside the implemented subset are refused by name", () => {
    const data = { PodCIDR: "10.0.0.0/24", PodCIDRRanges: ["10.0.0.0/24"], Routes: ["0.0.0.0/0"] };
    expect(() => renderConfTemplate(`{{printf "%s" .PodCIDR}}`, data)).toThrow('{{printf "%s" .PodCIDR}}');
    expect(() => renderConfTemplate(`{{.Nope}}`, data)).toThrow("can't evaluate field Nope");
    expect(() => renderConfTemplate(`{{range .Routes}}x`, data)).toThrow("missing {{end}}");
  });

  test("no usable config yet: the template is written as 10-containerd-net.conflist and a sandbox uses it", async () => {
    const bridge = world.bridgeName();
    const third = 100 + Math.floor(Math.random() * 100);
    const template = join(world.dir, "cni.template");
    writeFileSync(
      template,
      JSON.stringify({
        cniVersion: "1.0.0",
        name: `trt-tmpl-${hex()}`,
        plugins: [{
          type: "bridge",
          bridge,
          ipam: { type: "host-local", ranges: [[{ subnet: "{{.PodCIDR}}" }]], dataDir: world.data },
        }],
      }),
    );
    const toml = join(world.dir, "config.toml");
    writeFileSync(
      toml,
      `version = 2\n[plugins."io.containerd.grpc.v1.cri".cni]\nbin_dir = "${REFERENCE_BIN}"\n` +
        `conf_dir = "${world.conf}"\nconf_template = "${template}"\n`,
    );
    const settings = readContainerdConfig(toml);
    const podCIDR = `10.214.${third}.0/24`;
    const written = applyConfTemplate(settings, podCIDR);
    expect(written).toBe(join(world.conf, "10-containerd-net.conflist"));
    expect(statSync(written!).mode & 0o777).toBe(0o644);
    expect(JSON.parse(readFileSync(written!, "utf8")).plugins[0].ipam.ranges).toEqual([[{
      subnet: podCIDR,
    }]]);
    // containerd skips the template once a config loads
    expect(applyConfTemplate(settings, "10.99.0.0/24")).toBeUndefined();

    const ns = await world.netns();
    const cni = await CniNetworks.load({
      ...toNetworkOptions(settings),
      cacheDir: world.cache,
      lockDir: world.locks,
    });
    const id = `trt-sbx-${hex(4)}`;
    const res = await cni.setup(id, ns.path);
    const ip = res.interfaces.eth0.ipConfigs[0].ip;
    expect(ip.startsWith(`10.214.${third}.`)).toBe(true);
    expect((await addr.list({ netns: ns.name })).map((a) => `${a.dev} ${a.cidr}`)).toContain(`eth0 ${ip}/24`);
    await cni.remove(id, ns.path);
    expect((await addr.list({ netns: ns.name })).some((a) => a.dev === "eth0")).toBe(false);
  });

  test("a broken file sorted first: the template is written, yet go-cni still stops at the broken file", () => {
    // containerd 1.6 update_runtime_config.go: Status() fails, Load() fails, so writeCNIConfigFile runs;
    // go-cni's loadFromConfDir then still returns ErrInvalidConfig at 05-broken before reaching 10-containerd-net
    const template = join(world.dir, "cni.template");
    writeFileSync(
      template,
      JSON.stringify({ cniVersion: "1.0.0", name: "tmpl", plugins: [{ type: "bridge" }] }),
    );
    writeFileSync(join(world.conf, "05-broken.conflist"), "{");
    const settings = parseContainerdConfig(
      `version = 3\n[plugins."io.containerd.cri.v1.runtime".cni]\nconf_dir = "${world.conf}"\n` +
        `conf_template = "${template}"\n`,
    );
    expect(applyConfTemplate(settings, "10.77.0.0/24")).toBe(join(world.conf, "10-containerd-net.conflist"));
    const cni = CniNetworks.loadForCri({ ...toNetworkOptions(settings), binDirs: [REFERENCE_BIN] });
    expect(cni.networks.map((n) => n.config.name)).toEqual(["cni-loopback"]);
    expect(cni.loadError?.message).toMatch(/05-broken\.conflist: .*: invalid cni config$/);
  });
});
