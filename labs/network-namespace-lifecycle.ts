/**
 * Lab 2.5 "Network Namespace Lifecycle": the chapter's creation flow, persistence and deletion, done by hand
 * with iproute2 exactly the way containerd and a bridge CNI plugin do it, for two pods on one bridge.
 * @module
 */
import { readFileSync, readlinkSync, rmSync, statSync, symlinkSync } from "node:fs";
import { addr, batch, commands, link, netns, route } from "../lib/iproute2/mod.ts";
import { box, freeSubnet } from "./support.ts";
import { checkTrace } from "./support-trace.ts";
import type { Lab, LabContext } from "../lib/lab/mod.ts";
import { CollisionError, processAlive, processStart, STATE_DIR } from "../lib/ownership/mod.ts";
import type { Result } from "../lib/cni/types.ts";
import { parseResult } from "../lib/cni/version.ts";
import { run, spawnDetached } from "../lib/shell/mod.ts";
import { randomHex } from "../lib/util/mod.ts";

/** The bridge every pod of this lab plugs into (what the bridge plugin calls `cni0`). */
export const BRIDGE = "cnilab25";
/** The network name, as a CNI config would name it; host-local keeps its reservations under this name. */
export const NETWORK = "cnilab-lifecycle";
/** host-local's default data directory. */
export const IPAM_DIR = `/var/lib/cni/networks/${NETWORK}`;
const APP_PORT = 8080;

interface Pod {
  name: string;
  /** The 64-hex sandbox ID a CRI runtime would use as CNI_CONTAINERID. */
  sandboxId: string;
  /** `cni-<uuid>`, as containerd names pod namespaces. */
  netns: string;
  hostVeth: string;
  ip: string;
  holder?: { pid: number; start: number };
  app?: { pid: number; start: number };
}

interface State {
  subnet: string;
  gateway: string;
  prefix: number;
  pods: Pod[];
  /** Per-run scratch directory (holder symlink, the app's web root). */
  dir: string;
  /** pod-a's ADD result, as built from the kernel in the "Return configuration" step. */
  result?: Result;
  unpinned?: { pid: number; start: number; veth: string; netns: string; vethBefore: boolean };
  pinned?: { oldPid: number; oldAlive: boolean };
}

/** A CNI 1.1.0 result for `pod`, built from what the kernel reports (links, addresses, default route). */
async function kernelResult(state: State, pod: Pod): Promise<Result> {
  const br = await link.get(BRIDGE);
  const host = await link.get(pod.hostVeth);
  const eth0 = await link.get("eth0", { netns: pod.netns });
  const addrs = await addr.list({ netns: pod.netns, dev: "eth0", family: 4 });
  const routes = (await route.list({ netns: pod.netns, family: 4 })).filter((r) => r.dst === "default");
  return {
    cniVersion: "1.1.0",
    interfaces: [
      { name: BRIDGE, mac: br?.mac },
      { name: pod.hostVeth, mac: host?.mac },
      { name: "eth0", mac: eth0?.mac, sandbox: `/var/run/netns/${pod.netns}` },
    ],
    ips: addrs.map((a) => ({ address: a.cidr, gateway: state.gateway, interface: 2 })),
    routes: routes.map((r) => ({ dst: "0.0.0.0/0", gw: r.via })),
    dns: {},
  } as Result;
}

const hex = randomHex;

function nsInode(path: string): number {
  return statSync(path).ino;
}

function procNetns(pid: number): string {
  try {
    return readlinkSync(`/proc/${pid}/ns/net`);
  } catch {
    return "gone";
  }
}

function comm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "gone";
  }
}

async function ping(ctx: LabContext<State>, from: Pod | "host", to: string, label: string): Promise<void> {
  const argv = ["ping", "-c", "1", "-W", "1", to];
  const r = from === "host"
    ? await run(argv, { check: false, purpose: "read" })
    : await netns.exec(from.netns, argv, { check: false, purpose: "read" });
  const got = r.code === 0 ? "reply" : `no reply (exit ${r.code})`;
  ctx.expect(`${label}: ping ${to}`, got, "reply");
}

async function fetchApp(pod: Pod): Promise<string> {
  // busybox 1.35's `wget -T` segfaults (seen here), so coreutils' timeout bounds it instead
  const r = await run(["timeout", "3", "busybox", "wget", "-q", "-O-", `http://${pod.ip}:${APP_PORT}/`], {
    check: false,
    purpose: "read",
  });
  return r.code === 0 ? r.stdout.trim() : `no answer (wget exit ${r.code})`;
}

async function startApp(ctx: LabContext<State>, pod: Pod): Promise<void> {
  const root = `${ctx.state.dir}/www-${pod.name}`;
  const pid = await spawnDetached(
    [
      "nsenter",
      `--net=/var/run/netns/${pod.netns}`,
      "--",
      "busybox",
      "httpd",
      "-f",
      "-p",
      String(APP_PORT),
      "-h",
      root,
    ],
    { env: ctx.owner.env },
  );
  const start = processStart(pid) ?? 0;
  await ctx.owner.record({ kind: "process", pid, start });
  pod.app = { pid, start };
  // wait until it listens (a fresh process needs a moment to bind)
  for (let i = 0; i < 50; i++) {
    const r = await netns.exec(pod.netns, ["busybox", "netstat", "-ltn"], { check: false, purpose: "read" });
    if (r.stdout.includes(`:${APP_PORT} `)) break;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Lab 2.5. */
export const networkNamespaceLifecycle: Lab<State> = {
  id: "network-namespace-lifecycle",
  section: "2.5",
  title: "Network Namespace Lifecycle",
  summary:
    "Create pod namespaces the containerd way, wire them with veth + bridge, prove persistence, delete cleanly",
  init: () => ({ subnet: "", gateway: "", prefix: 24, pods: [], dir: "" }),

  async preflight(ctx) {
    if (await link.get(BRIDGE)) throw new CollisionError(`link ${BRIDGE}`);
    const subnet = await freeSubnet();
    ctx.state.subnet = subnet.cidr;
    ctx.state.gateway = subnet.gateway;
    ctx.state.dir = `${STATE_DIR}/lab-${ctx.owner.id}`;
    ctx.state.pods = ["pod-a", "pod-b"].map((name) => ({
      name,
      sandboxId: hex(32),
      netns: `cni-${crypto.randomUUID()}`,
      hostVeth: `veth${hex(4)}`,
      ip: "",
    }));
  },

  steps: [
    {
      title: "Node setup: the bridge pods plug into",
      mirrors: "2.5 Creation flow, step 3 (CNI plugin: bridge)",
      narration:
        `A bridge CNI plugin makes sure the node's bridge exists on the first ADD. Here it is ${BRIDGE}, ` +
        "and it carries the pods' gateway address. The alias marks it as cnilab's, so `cnilab clean` can tell it " +
        "from a bridge someone else made.",
      async run(ctx) {
        await ctx.owner.record({ kind: "link", name: BRIDGE });
        await batch([
          commands.bridgeAdd(BRIDGE),
          commands.linkAlias(BRIDGE, ctx.owner.mark),
          commands.addrAdd(BRIDGE, `${ctx.state.gateway}/${ctx.state.prefix}`),
          commands.linkUp(BRIDGE),
        ]);
        await ctx.owner.mkdir(ctx.state.dir);
        await ctx.owner.record({ kind: "path", path: `${ctx.state.dir}/pause` });
        symlinkSync("/usr/bin/catatonit", `${ctx.state.dir}/pause`);
      },
      async check(ctx) {
        const br = await link.get(BRIDGE);
        ctx.expect(`${BRIDGE} is a bridge`, br?.kind, "bridge");
        ctx.expect(`${BRIDGE} is up`, br?.up, true);
        const addrs = (await addr.list({ dev: BRIDGE, family: 4 })).map((a) => a.cidr);
        ctx.expect(`${BRIDGE} holds the gateway address`, addrs, [
          `${ctx.state.gateway}/${ctx.state.prefix}`,
        ]);
      },
    },
    {
      title: "Create the pod network namespaces",
      mirrors: "2.5 Creation flow, step 1: Create network namespace",
      narration:
        "containerd creates each pod's namespace before it calls CNI, named cni-<uuid> and pinned by a " +
        "file under /var/run/netns, so the namespace lives on independently of any process.",
      async run(ctx) {
        for (const pod of ctx.state.pods) await ctx.owner.createNetns(pod.netns);
      },
      async check(ctx) {
        const names = (await netns.list()).map((n) => n.name);
        for (const pod of ctx.state.pods) {
          ctx.expect(`${pod.name}: ${pod.netns} is listed by ip netns`, names.includes(pod.netns), true);
          const links = (await link.list({ netns: pod.netns })).map((l) =>
            `${l.name}:${l.up ? "up" : "down"}`
          );
          ctx.expect(`${pod.name}: a new namespace holds only lo, down`, links, ["lo:down"]);
        }
      },
    },
    {
      title: "Start the pause holder in each namespace",
      mirrors: "2.4 Pause container role / 2.5 Persistence",
      narration:
        "The pause container sits in the pod's namespaces doing nothing; the pod's containers join them. " +
        "(The network namespace is also pinned by its file: step 11 shows what that changes.) catatonit -P, " +
        "exec'd as `pause`, is the same kind of program (podman uses it as its pause).",
      async run(ctx) {
        for (const pod of ctx.state.pods) {
          const pid = await spawnDetached(
            ["nsenter", `--net=/var/run/netns/${pod.netns}`, "--", `${ctx.state.dir}/pause`, "-P"],
            { env: ctx.owner.env },
          );
          // nsenter execs the holder, so the PID stays; wait for the exec to show
          for (let i = 0; i < 100 && comm(pid) !== "pause"; i++) await new Promise((r) => setTimeout(r, 5));
          pod.holder = { pid, start: processStart(pid) ?? 0 };
          await ctx.owner.record({ kind: "process", ...pod.holder });
        }
      },
      async check(ctx) {
        for (const pod of ctx.state.pods) {
          const pid = pod.holder!.pid;
          ctx.expect(`${pod.name}: holder ${pid} shows as pause`, comm(pid), "pause");
          ctx.expect(
            `${pod.name}: holder ${pid} lives in ${pod.netns}`,
            procNetns(pid),
            `net:[${nsInode(`/var/run/netns/${pod.netns}`)}]`,
          );
          ctx.expect(
            `${pod.name}: ip netns pids lists the holder`,
            (await netns.pids(pod.netns)).includes(pid),
            true,
          );
        }
      },
    },
    {
      title: "Create the veth pair: eth0 in the pod, vethXXXXXXXX on the host",
      mirrors: "2.5 Creation flow, step 3: Create veth pair",
      narration:
        "A veth pair is a virtual cable. The bridge plugin creates it with the pod end directly inside " +
        "the pod namespace and plugs the host end into the bridge. The pod end is named by CNI_IFNAME, which " +
        "the runtime chooses: eth0 (go-cni's prefix eth + index), not the chapter's veth0.",
      async run(ctx) {
        for (const pod of ctx.state.pods) {
          await ctx.owner.record({ kind: "link", name: pod.hostVeth });
          await batch([
            commands.vethAdd(pod.hostVeth, "eth0", { peerNetns: pod.netns }),
            commands.linkAlias(pod.hostVeth, ctx.owner.mark),
            commands.linkMaster(pod.hostVeth, BRIDGE),
            commands.linkUp(pod.hostVeth),
          ]);
        }
      },
      async check(ctx) {
        for (const pod of ctx.state.pods) {
          const host = await link.get(pod.hostVeth);
          const eth0 = await link.get("eth0", { netns: pod.netns });
          ctx.expect(`${pod.name}: eth0 exists inside the pod`, eth0?.kind, "veth");
          ctx.expect(
            `${pod.name}: the pod side is eth0 (CNI_IFNAME), there is no veth0`,
            (await link.list({ netns: pod.netns })).map((l) => l.name).sort(),
            ["eth0", "lo"],
          );
          ctx.expect(`${pod.name}: ${pod.hostVeth} is a port of ${BRIDGE}`, host?.master, BRIDGE);
          ctx.expect(`${pod.name}: eth0's peer is ${pod.hostVeth}`, eth0?.peerIndex, host?.index);
        }
      },
    },
    {
      title: "Allocate each pod an address (what host-local does)",
      mirrors: "2.5 Creation flow, step 4: Configure interface (IPAM)",
      narration: `host-local reserves an address by creating a file named after it in ${IPAM_DIR}, ` +
        "holding the container ID and interface name. The gateway (.1) is never handed out; the first pod gets .2.",
      async run(ctx) {
        const subnet = ctx.state.subnet.split("/")[0].split(".").slice(0, 3).join(".");
        for (const [i, pod] of ctx.state.pods.entries()) {
          pod.ip = `${subnet}.${i + 2}`;
          await ctx.writeFile(`${IPAM_DIR}/${pod.ip}`, `${pod.sandboxId}\r\neth0`, 0o600);
        }
        await ctx.writeFile(`${IPAM_DIR}/last_reserved_ip.0`, ctx.state.pods.at(-1)!.ip, 0o600);
      },
      check(ctx) {
        for (const pod of ctx.state.pods) {
          let content = "missing";
          try {
            content = readFileSync(`${IPAM_DIR}/${pod.ip}`, "utf8");
          } catch { /* reported below */ }
          ctx.expect(
            `${pod.name}: ${IPAM_DIR}/${pod.ip} names the sandbox`,
            content,
            `${pod.sandboxId}\r\neth0`,
          );
        }
        return Promise.resolve();
      },
    },
    {
      title: "Configure the interface: IP, routes, DNS",
      mirrors: "2.5 Creation flow, step 4: Configure interface (IP, routes, DNS)",
      narration:
        "Inside the pod: the address on eth0, eth0 and lo up, a default route via the bridge's gateway. " +
        "DNS is the pod's own resolv.conf; `ip netns exec` shows it at /etc/resolv.conf (it bind-mounts " +
        "/etc/netns/<name>/resolv.conf), like a container runtime mounts the kubelet's.",
      async run(ctx) {
        for (const pod of ctx.state.pods) {
          await batch([
            commands.addrAdd("eth0", `${pod.ip}/${ctx.state.prefix}`),
            commands.linkUp("eth0"),
            commands.linkUp("lo"),
            commands.routeAdd({ dst: "default", via: ctx.state.gateway, dev: "eth0" }),
          ], { netns: pod.netns });
          await ctx.writeFile(
            `/etc/netns/${pod.netns}/resolv.conf`,
            "search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n",
          );
        }
      },
      async check(ctx) {
        for (const pod of ctx.state.pods) {
          const addrs = (await addr.list({ netns: pod.netns, dev: "eth0", family: 4 })).map((a) => a.cidr);
          ctx.expect(`${pod.name}: eth0 has ${pod.ip}/${ctx.state.prefix}`, addrs, [
            `${pod.ip}/${ctx.state.prefix}`,
          ]);
          const def = (await route.list({ netns: pod.netns })).find((r) => r.dst === "default");
          ctx.expect(`${pod.name}: default route via the gateway`, def?.via, ctx.state.gateway);
          const resolv = await netns.exec(pod.netns, ["cat", "/etc/resolv.conf"], { purpose: "read" });
          ctx.expect(
            `${pod.name}: /etc/resolv.conf inside is the pod's`,
            resolv.stdout.includes("10.96.0.10"),
            true,
          );
        }
      },
    },
    {
      title: "Return configuration: the result CNI hands back",
      mirrors: "2.5 Creation flow, step 5: Return configuration",
      narration:
        "The plugin's answer to ADD is a result: interfaces (with the sandbox path for eth0), IPs, routes, " +
        "DNS. Here it is for pod-a in the CNI 1.1.0 format, built from what the kernel reports now. Its `dns` is " +
        "advisory: the pod's resolv.conf comes from the runtime (lab 2.2).",
      async run(ctx) {
        const pod = ctx.state.pods[0];
        ctx.state.result = await kernelResult(ctx.state, pod);
        ctx.note(JSON.stringify(ctx.state.result, null, 2));
      },
      async check(ctx) {
        const pod = ctx.state.pods[0];
        const result = ctx.state.result!;
        let parsed = "";
        try {
          parseResult(result, "the result");
          parsed = "valid";
        } catch (e) {
          parsed = (e as Error).message;
        }
        ctx.expect("pod-a: the result is a valid CNI result", parsed, "valid");
        // read the kernel again (`ip -json`, through lib/iproute2)
        const eth0 = await link.get("eth0", { netns: pod.netns });
        const host = await link.get(pod.hostVeth);
        const routes = (await route.list({ netns: pod.netns })).filter((r) => r.dst === "default");
        const inet = (await addr.list({ netns: pod.netns, dev: "eth0", family: 4 })).map((a) => a.cidr);
        const ips = result.ips ?? [];
        const podIf = result.interfaces?.[ips[0]?.interface ?? -1];
        ctx.expect(
          "pod-a: the result's eth0, MAC, sandbox, address and route are what ip -json reports",
          {
            name: podIf?.name,
            mac: podIf?.mac,
            sandbox: podIf?.sandbox,
            ips: ips.map((i) => i.address),
            gw: result.routes?.map((r) => r.gw),
            host: result.interfaces?.find((i) => i.name === pod.hostVeth)?.mac,
          },
          {
            name: eth0?.name,
            mac: eth0?.mac,
            sandbox: `/var/run/netns/${pod.netns}`,
            ips: inet,
            gw: routes.map((r) => r.via),
            host: host?.mac,
          },
        );
      },
    },
    {
      title: "Viewing namespaces",
      mirrors: "2.5 Viewing Namespaces",
      narration: "The commands from the chapter, run for real (as root: no minikube needed).",
      async run(ctx) {
        // the chapter's own commands, literal on purpose: they are shown for the reader to type
        await run(["ip", "netns", "list"], { purpose: "show" });
        const pod = ctx.state.pods[0];
        await netns.exec(pod.netns, ["ip", "addr"], { purpose: "show" });
        await netns.exec(pod.netns, ["ip", "route"], { purpose: "show" });
        ctx.note(box("NETWORK NAMESPACE LIFECYCLE", [
          "CREATION:",
          `  Create netns     →  /var/run/netns/${pod.netns}`,
          `  CNI configures   →  veth pair eth0 ⇄ ${pod.hostVeth} on ${BRIDGE}, IP ${pod.ip}, default via ${ctx.state.gateway}`,
          `  Containers join  →  pause holder PID ${pod.holder?.pid} holds it`,
          "PERSISTENCE: steps 10-11 (an app crashes, the IP stays; pinned vs unpinned)",
          "DELETION: steps 12–14 (CNI DEL → remove veth, release IP → remove netns)",
        ]));
      },
      async check(ctx) {
        const listed = (await netns.list()).map((n) => n.name);
        for (const pod of ctx.state.pods) {
          ctx.expect(`ip netns list shows ${pod.netns}`, listed.includes(pod.netns), true);
        }
      },
    },
    {
      title: "Connectivity: host ↔ pod, pod → gateway, pod ↔ pod",
      mirrors: "2.5 Creation flow: the pod has network",
      narration:
        "Every path the chapter promises, tested with one ping each: the host reaches each pod through " +
        "the bridge, each pod reaches its gateway, and the pods reach each other across the bridge.",
      run: () => Promise.resolve(),
      async check(ctx) {
        const [a, b] = ctx.state.pods;
        await ping(ctx, "host", a.ip, "host → pod-a");
        await ping(ctx, "host", b.ip, "host → pod-b");
        await ping(ctx, a, ctx.state.gateway, "pod-a → gateway");
        await ping(ctx, b, ctx.state.gateway, "pod-b → gateway");
        await ping(ctx, a, b.ip, "pod-a → pod-b");
        await ping(ctx, b, a.ip, "pod-b → pod-a");
        // one packet followed hop by hop: it crosses the bridge, and pod-b's eth0 answers ARP
        await checkTrace(ctx, { ns: a.netns, name: a.name }, { ns: b.netns, name: b.name, address: b.ip }, [
          `${a.name}/eth0`,
          `host/${a.hostVeth}`,
          `host/${BRIDGE} (FDB)`,
          `host/${b.hostVeth}`,
          `${b.name}/eth0`,
        ]);
      },
    },
    {
      title: "Persistence: an app crashes and restarts, the namespace and IP stay",
      mirrors: "2.5 Persistence",
      narration:
        `An app (busybox httpd on :${APP_PORT}) joins pod-a's namespace. It is killed with SIGKILL, ` +
        "as a crash would; the holder keeps the namespace, so eth0 and its address are still there when the app " +
        "is started again.",
      async run(ctx) {
        const pod = ctx.state.pods[0];
        const root = `${ctx.state.dir}/www-${pod.name}`;
        await ctx.writeFile(`${root}/index.html`, `hello from ${pod.name} (${pod.ip})\n`);
        await startApp(ctx, pod);
        ctx.expect(
          "the app answers before the crash",
          await fetchApp(pod),
          `hello from ${pod.name} (${pod.ip})`,
        );
        await run(["kill", "-KILL", String(pod.app!.pid)]);
        for (let i = 0; i < 100 && processAlive(pod.app!.pid, pod.app!.start); i++) {
          await new Promise((r) => setTimeout(r, 10));
        }
        ctx.expect("the app is gone after SIGKILL", processAlive(pod.app!.pid, pod.app!.start), false);
        const addrs = (await addr.list({ netns: pod.netns, dev: "eth0", family: 4 })).map((a) => a.local);
        ctx.expect("the namespace still holds the pod's address", addrs, [pod.ip]);
        ctx.expect("the holder still runs", processAlive(pod.holder!.pid, pod.holder!.start), true);
        await startApp(ctx, pod);
      },
      async check(ctx) {
        const pod = ctx.state.pods[0];
        ctx.expect(
          "the restarted app answers on the same IP",
          await fetchApp(pod),
          `hello from ${pod.name} (${pod.ip})`,
        );
      },
    },
    {
      title: "Persistence, exactly: a namespace held only by pause dies with it; a pinned one does not",
      mirrors: "2.5 Persistence: Namespace exists as long as pause container runs",
      narration:
        "The chapter's rule is exact only for a namespace no file pins. An unpinned namespace (its only " +
        "reference is pause) disappears when pause dies, and the host end of its veth with it. containerd pins " +
        "the namespace with a bind mount under /var/run/netns: it survives its holder's death, address and all, " +
        "and a new holder can join it.",
      async run(ctx) {
        const s = ctx.state;
        // 1. unpinned: a pause whose own namespace is the only one, with a veth into it
        const pid = await spawnDetached(["unshare", "--net", "--", `${s.dir}/pause`, "-P"], {
          env: ctx.owner.env,
        });
        for (let i = 0; i < 100 && comm(pid) !== "pause"; i++) await new Promise((r) => setTimeout(r, 5));
        const start = processStart(pid) ?? 0;
        await ctx.owner.record({ kind: "process", pid, start });
        const veth = `veth${hex(4)}`;
        await ctx.owner.record({ kind: "link", name: veth });
        await batch([
          commands.vethAdd(veth, "eth0", { peerNetns: String(pid) }),
          commands.linkAlias(veth, ctx.owner.mark),
        ]);
        s.unpinned = {
          pid,
          start,
          veth,
          netns: procNetns(pid),
          vethBefore: (await link.get(veth)) !== undefined,
        };
        await run(["kill", "-KILL", String(pid)]);
        for (let i = 0; i < 100 && processAlive(pid, start); i++) await new Promise((r) => setTimeout(r, 10));
        // 2. pinned: pod-a's pause is killed; the namespace stays; a new pause joins it
        const pod = s.pods[0];
        const old = pod.holder!;
        if (pod.app) await run(["kill", "-KILL", String(pod.app.pid)], { check: false });
        await run(["kill", "-KILL", String(old.pid)]);
        for (let i = 0; i < 100 && processAlive(old.pid, old.start); i++) {
          await new Promise((r) => setTimeout(r, 10));
        }
        const joined = await spawnDetached(
          ["nsenter", `--net=/var/run/netns/${pod.netns}`, "--", `${s.dir}/pause`, "-P"],
          { env: ctx.owner.env },
        );
        for (let i = 0; i < 100 && comm(joined) !== "pause"; i++) await new Promise((r) => setTimeout(r, 5));
        pod.holder = { pid: joined, start: processStart(joined) ?? 0 };
        await ctx.owner.record({ kind: "process", ...pod.holder });
        s.pinned = { oldPid: old.pid, oldAlive: processAlive(old.pid, old.start) };
      },
      async check(ctx) {
        const s = ctx.state;
        const u = s.unpinned!;
        ctx.expect("unpinned: its veth existed while pause ran", u.vethBefore, true);
        ctx.expect("unpinned: pause is gone after SIGKILL", processAlive(u.pid, u.start), false);
        let vethGone = false;
        for (let i = 0; i < 50 && !vethGone; i++) {
          vethGone = (await link.get(u.veth)) === undefined;
          if (!vethGone) await new Promise((r) => setTimeout(r, 20));
        }
        ctx.expect(
          "unpinned: the namespace died with pause, and the veth's host end with it",
          vethGone,
          true,
        );
        const pod = s.pods[0];
        ctx.expect("pinned: the old pause is gone", s.pinned?.oldAlive, false);
        const addrs = (await addr.list({ netns: pod.netns, dev: "eth0", family: 4 })).map((a) => a.local);
        ctx.expect("pinned: the namespace survived its holder's death, with the pod's address", addrs, [
          pod.ip,
        ]);
        ctx.expect(
          "pinned: a new pause joined the same namespace",
          procNetns(pod.holder!.pid),
          `net:[${nsInode(`/var/run/netns/${pod.netns}`)}]`,
        );
        await ping(ctx, "host", pod.ip, "pinned: host → pod-a still");
      },
    },
    {
      title: "Deletion: CNI DEL removes the veth and releases the IP",
      deletes: true,
      mirrors: "2.5 Deletion: CNI DEL called → remove veth, release IP",
      narration: "Deleting one end of a veth pair deletes both. Releasing the IP is deleting host-local's " +
        "reservation file. The app goes first: the kubelet stops containers before the sandbox.",
      async run(ctx) {
        for (const pod of ctx.state.pods) {
          if (pod.app) await run(["kill", "-TERM", String(pod.app.pid)], { check: false });
          await link.del(pod.hostVeth);
          rmSync(`${IPAM_DIR}/${pod.ip}`);
        }
      },
      async check(ctx) {
        for (const pod of ctx.state.pods) {
          ctx.expect(`${pod.name}: ${pod.hostVeth} is gone`, await link.get(pod.hostVeth), undefined);
          ctx.expect(
            `${pod.name}: eth0 is gone from the pod`,
            await link.get("eth0", { netns: pod.netns }),
            undefined,
          );
          let reserved = true;
          try {
            statSync(`${IPAM_DIR}/${pod.ip}`);
          } catch {
            reserved = false;
          }
          ctx.expect(`${pod.name}: ${pod.ip} is no longer reserved`, reserved, false);
        }
      },
    },
    {
      title: "Deletion: stop the holder, remove the namespace",
      deletes: true,
      mirrors: "2.5 Deletion: Remove netns → /var/run/netns/cni-… deleted",
      narration:
        "With the pause holder stopped and the pin removed, nothing references the namespace and the " +
        "kernel frees it. The pod's resolv.conf goes with it.",
      async run(ctx) {
        for (const pod of ctx.state.pods) {
          if (pod.holder) await run(["kill", "-TERM", String(pod.holder.pid)]);
          await netns.del(pod.netns);
          rmSync(`/etc/netns/${pod.netns}`, { recursive: true, force: true });
        }
      },
      async check(ctx) {
        const names = (await netns.list()).map((n) => n.name);
        for (const pod of ctx.state.pods) {
          ctx.expect(`${pod.name}: ${pod.netns} is gone`, names.includes(pod.netns), false);
          let alive = false;
          for (let i = 0; i < 100; i++) {
            alive = processAlive(pod.holder!.pid, pod.holder!.start);
            if (!alive) break;
            await new Promise((r) => setTimeout(r, 10));
          }
          ctx.expect(`${pod.name}: holder ${pod.holder!.pid} has exited`, alive, false);
        }
      },
    },
    {
      title: "Node teardown: remove the bridge this lab made",
      deletes: true,
      mirrors: "2.5 Deletion (the bridge plugin itself never deletes the bridge)",
      narration: `The bridge plugin leaves ${BRIDGE} for the next pod. This lab made it, so it removes it, ` +
        "together with the (now empty) IPAM directory.",
      async run() {
        await link.del(BRIDGE);
      },
      async check(ctx) {
        ctx.expect(`${BRIDGE} is gone`, await link.get(BRIDGE), undefined);
        let left: string[] = [];
        try {
          left = (await import("node:fs")).readdirSync(IPAM_DIR).filter((f) =>
            !f.startsWith("last_reserved_ip")
          );
        } catch { /* no directory: nothing reserved */ }
        ctx.expect("no address is left reserved", left, []);
        const stray = (await netns.list()).filter((n) => ctx.state.pods.some((p) => p.netns === n.name));
        ctx.expect("no pod namespace is left", stray, []);
      },
    },
  ],

  explore(ctx) {
    const [a, b] = ctx.state.pods;
    return [
      "ip netns list",
      `ip netns exec ${a.netns} ip addr`,
      `ip netns exec ${a.netns} ip route`,
      `ip netns exec ${a.netns} ping -c 1 ${b.ip}`,
      `ip link show master ${BRIDGE}`,
      `ls -l ${IPAM_DIR}`,
      "cnilab clean",
    ];
  },
};
