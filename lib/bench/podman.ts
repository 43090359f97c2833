/**
 * The podman side of `cnilab bench sandbox`: the same pod sandbox made by `podman pod create` + `pod start`
 * (infra container = the catatonit pause, joined to a CNI network) and removed by `pod rm -f`, through
 * podman's CNI backend with the reference plugins.
 *
 * podman runs with a configuration of the bench's own, written under the bench's run dir and removed with
 * it, so nothing of the machine's podman setup is used or changed:
 * - `containers.conf` (CONTAINERS_CONF): `default_ulimits` inside this process's hard limits (podman's own
 *   defaults exceed a VM's hard nofile limit, and runc then fails with "error setting rlimits"), cgroupfs,
 *   file events, runc, the CNI backend with the bench's conflist dir;
 * - `storage.conf` (CONTAINERS_STORAGE_CONF): image store and run root in the run dir (the pause image
 *   `podman pod create` builds from catatonit lands there, offline);
 * - its own bridge, created and marked by the bench before podman's bridge plugin uses it, removed after
 *   (an unmarked bridge left by a crashed comparison is something `cnilab clean` cannot remove).
 * @module
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { batch, commands, link } from "../iproute2/mod.ts";
import { CollisionError, Owner, STATE_DIR } from "../ownership/mod.ts";
import { run } from "../shell/mod.ts";

/** The comparison's network: the shape of cnilab's default conflist, on a bridge and subnet of its own. */
export const PODMAN_NETWORK = {
  name: "cnilab-bench-podman",
  bridge: "cnilabpodman0",
  subnet: "10.91.0.0/16",
  gateway: "10.91.0.1",
} as const;

/** What the podman runs measured. */
export interface PodmanRuns {
  version: string;
  ready: number[];
  teardown: number[];
}

/** This process's hard limit of a resource, as /proc/self/limits says ("unlimited" → undefined). */
function hardLimit(label: string): number | undefined {
  try {
    const line = readFileSync("/proc/self/limits", "utf8").split("\n").find((l) => l.startsWith(label));
    const hard = line?.slice(label.length).trim().split(/\s+/)[1];
    return hard && /^\d+$/.test(hard) ? Number(hard) : undefined;
  } catch {
    return undefined;
  }
}

/** kernel.pid_max of this pid namespace (32768 by default). */
function pidMax(): number | undefined {
  try {
    const v = Number(readFileSync("/proc/sys/kernel/pid_max", "utf8").trim());
    return Number.isFinite(v) && v > 0 ? v : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A ulimit value podman may ask runc for: its own default, lowered to the hard limit. nproc is lowered to
 * kernel.pid_max as well: measured here (podman 4.3, runc 1.1, root without CAP_SYS_RESOURCE), conmon and so
 * runc's init run with nproc = pid_max (32768), and asking more fails with "error setting rlimit type 6:
 * operation not permitted" (32768 works, 40000 does not).
 */
function ulimit(name: string, label: string, podmanDefault: number, cap?: number): string {
  const v = Math.min(podmanDefault, hardLimit(label) ?? podmanDefault, cap ?? podmanDefault);
  return `${name}=${v}:${v}`;
}

/** The bench's containers.conf. */
export function containersConf(runDir: string): string {
  return [
    "[containers]",
    `default_ulimits = [${
      // podman's own default for both is RLimitDefaultValue = 1048576 (libpod/define/config.go)
      [ulimit("nofile", "Max open files", 1048576), ulimit("nproc", "Max processes", 1048576, pidMax())]
        .map((u) => JSON.stringify(u)).join(", ")}]`,
    "",
    "[network]",
    'network_backend = "cni"',
    `network_config_dir = "${runDir}/net.d"`,
    "",
    "[engine]",
    'cgroup_manager = "cgroupfs"',
    'events_logger = "file"',
    `events_logfile_path = "${runDir}/events.log"`,
    'runtime = "runc"',
    `tmp_dir = "${runDir}/tmp"`,
    `volume_path = "${runDir}/volumes"`,
    "",
  ].join("\n");
}

/** The comparison's conflist: the reference bridge and host-local, as in cnilab's default network. */
export function podmanConflist(runDir: string): string {
  return JSON.stringify(
    {
      cniVersion: "0.4.0",
      name: PODMAN_NETWORK.name,
      plugins: [{
        type: "bridge",
        bridge: PODMAN_NETWORK.bridge,
        isGateway: true,
        ipMasq: false,
        hairpinMode: true,
        ipam: {
          type: "host-local",
          ranges: [[{ subnet: PODMAN_NETWORK.subnet, gateway: PODMAN_NETWORK.gateway }]],
          routes: [{ dst: "0.0.0.0/0" }],
          dataDir: `${runDir}/ipam`,
        },
      }],
    },
    null,
    2,
  ) + "\n";
}

/**
 * podman's own places that a run creates when they are missing (a machine where podman never ran); each
 * missing one is created and recorded first, so it goes again: emptied dirs are removed, and the two that
 * only hold podman's bookkeeping (`tree`) are removed with what the bench's podman put in them.
 */
const PODMAN_DEFAULT_DIRS = [
  { path: "/var/lib/cni/results", tree: false }, // libcni's result cache (podman's CNI backend keeps it)
  { path: "/run/containers", tree: false },
  { path: "/run/libpod", tree: true }, // the engine's alive/exits files (the pause image build)
  { path: "/var/lib/containers/cache", tree: true }, // containers/image's blob-info cache
];

/**
 * Runs `runs` podman pods (after one unmeasured pod, which builds the pause image) and returns their
 * ready and teardown times. Everything it makes goes when it returns, also when podman fails: the error
 * is thrown for the report.
 */
export async function podmanRuns(runs: number, say: (s: string) => void): Promise<PodmanRuns> {
  const owner = await Owner.begin("bench", "podman comparison");
  const runDir = `${STATE_DIR}/bench-podman-${owner.id}`;
  const cgroupParent = `/cnilab-bench-${owner.id}`;
  try {
    for (const { path, tree } of PODMAN_DEFAULT_DIRS) {
      if (existsSync(path)) continue;
      await owner.mkdir(path.slice(0, path.lastIndexOf("/")));
      await owner.record({ kind: "path", path, tree });
      mkdirSync(path, { mode: 0o700 });
    }
    await owner.record({ kind: "path", path: runDir, tree: true });
    mkdirSync(`${runDir}/net.d`, { recursive: true, mode: 0o700 });
    writeFileSync(`${runDir}/containers.conf`, containersConf(runDir));
    writeFileSync(
      `${runDir}/storage.conf`,
      `[storage]\ndriver = "overlay"\ngraphroot = "${runDir}/storage"\nrunroot = "${runDir}/runroot"\n`,
    );
    writeFileSync(`${runDir}/net.d/10-${PODMAN_NETWORK.name}.conflist`, podmanConflist(runDir));
    const env = {
      CONTAINERS_CONF: `${runDir}/containers.conf`,
      CONTAINERS_STORAGE_CONF: `${runDir}/storage.conf`,
    };
    // the bridge first, marked, as a lab makes it: podman's bridge plugin then finds it and only adds ports
    if (await link.get(PODMAN_NETWORK.bridge)) throw new CollisionError(`bridge ${PODMAN_NETWORK.bridge}`);
    await owner.record({ kind: "link", name: PODMAN_NETWORK.bridge });
    await batch([
      commands.bridgeAdd(PODMAN_NETWORK.bridge),
      commands.linkAlias(PODMAN_NETWORK.bridge, owner.mark),
      commands.linkUp(PODMAN_NETWORK.bridge),
    ]);
    // the pods' cgroups (cgroupfs) go under a parent of the bench's own, in every hierarchy; podman leaves
    // some of them behind (name=systemd, unified), so they are removed after, deepest first (rmdir: only
    // empty ones). libpod_parent (the pause image build's) likewise, when the bench made it.
    const cgroupDirs = [
      cgroupParent.slice(1),
      ...(existsSync("/sys/fs/cgroup/cpu/libpod_parent") || existsSync("/sys/fs/cgroup/libpod_parent")
        ? []
        : ["libpod_parent"]),
    ];
    await owner.record({
      kind: "undo",
      what: `cgroups ${cgroupDirs.join(", ")}`,
      argv: [
        "sh",
        "-c",
        `for d in ${cgroupDirs.map((d) => `/sys/fs/cgroup/${d} /sys/fs/cgroup/*/${d}`).join(" ")}; do
  [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \\; ; done 2>/dev/null; exit 0`,
      ],
    });
    // runc's state under the run dir too (its default root /run/runc is the machine's)
    const global = ["--runtime-flag", `root=${runDir}/runc`];
    const podman = (args: string[]) => run(["podman", ...global, ...args], { env });
    const version = (await podman(["version", "--format", "{{.Client.Version}}"])).stdout.trim();
    const onePod = async (name: string) => {
      await owner.record({
        kind: "undo",
        what: `podman pod rm ${name}`,
        argv: ["podman", ...global, "pod", "rm", "-f", name],
        env,
      });
      const t0 = performance.now();
      await podman([
        "pod",
        "create",
        "--name",
        name,
        "--network",
        PODMAN_NETWORK.name,
        "--cgroup-parent",
        cgroupParent,
      ]);
      await podman(["pod", "start", name]);
      const ready = performance.now() - t0;
      const t1 = performance.now();
      await podman(["pod", "rm", "-f", name]);
      const teardown = performance.now() - t1;
      await owner.forget({
        kind: "undo",
        what: `podman pod rm ${name}`,
        argv: ["podman", ...global, "pod", "rm", "-f", name],
        env,
      });
      return { ready, teardown };
    };
    say("  podman: first pod (builds the pause image, not measured)");
    await onePod(`bsbx-podman-${owner.id}-warmup`);
    const ready: number[] = [];
    const teardown: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t = await onePod(`bsbx-podman-${owner.id}-${i}`);
      ready.push(t.ready);
      teardown.push(t.teardown);
      if ((i + 1) % 5 === 0) say(`  podman: ${i + 1}/${runs}`);
    }
    return { version, ready, teardown };
  } finally {
    await owner.release();
  }
}
