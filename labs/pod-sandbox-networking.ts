/**
 * Lab 2.4 "Pod Sandbox Networking": the pause holder owns the pod's network, IPC and UTS namespaces; the
 * chapter's multi-container pod runs and its sidecar reaches the web container on localhost; IPC and the
 * hostname are shared; PID sharing both ways; an app container crashes and restarts, and the pod keeps its
 * namespace and address.
 * @module
 */
import { readFileSync, readlinkSync, statSync } from "node:fs";
import { hostname } from "node:os";
import { addr, link, route } from "../lib/iproute2/mod.ts";
import type { Lab } from "../lib/lab/mod.ts";
import { CollisionError, processAlive } from "../lib/ownership/mod.ts";
import {
  containerLogs,
  execSync,
  parsePodManifest,
  podSandboxStatus,
  readState,
  removePodSandbox,
  runPod,
  type SandboxState,
  startContainer,
} from "../lib/sandbox/mod.ts";
import { run } from "../lib/shell/mod.ts";
import {
  box,
  bridgeConflist,
  freeSubnet,
  labDir,
  markedBridge,
  podUndo,
  recordingBinDir,
  REPO_ROOT,
  requirePlugins,
  type Subnet,
} from "./support.ts";

const BRIDGE = "cnilab24";
/** The chapter's pod keeps its name: the manifest runs unmodified. */
const POD = "multi-container-pod";
const SHARED = "lab24-shared-pid";
const NAMESPACES = ["net", "ipc", "uts"] as const;

interface State {
  dir: string;
  confDir: string;
  binDir: string;
  subnet?: Subnet;
  pod?: SandboxState;
  shared?: SandboxState;
  ipcKey: string;
  webPid: number;
}

function nsOf(pid: number | "self", ns: string): string {
  try {
    return readlinkSync(`/proc/${pid}/ns/${ns}`);
  } catch {
    return "gone";
  }
}

function container(s: SandboxState, name: string) {
  const c = readState(s.id).containers.find((c) => c.name === name);
  if (!c?.process) throw new Error(`container ${name} of ${s.name} has no process`);
  return c.process;
}

async function execIn(s: SandboxState, name: string, argv: string[]): Promise<string> {
  const r = await execSync(s.id, name, argv, { timeoutMs: 5000 });
  return r.code === 0 ? r.stdout.trim() : `exit ${r.code}: ${(r.stderr || r.stdout).trim()}`;
}

/** Lab 2.4. */
export const podSandboxNetworking: Lab<State> = {
  id: "pod-sandbox-networking",
  section: "2.4",
  title: "Pod Sandbox Networking",
  summary:
    "The pause holder owns net/IPC/UTS; the chapter's two-container pod shares localhost, IPC, hostname; restarts keep the IP",
  init: () => ({ dir: "", confDir: "", binDir: "", ipcKey: "", webPid: 0 }),

  async preflight(ctx) {
    requirePlugins();
    if (await link.get(BRIDGE)) throw new CollisionError(`link ${BRIDGE}`);
    ctx.state.subnet = await freeSubnet();
  },

  steps: [
    {
      title: "Run the chapter's multi-container Pod, unmodified",
      mirrors: "2.4 Multi-Container Pod Networking (the chapter's Pod manifest)",
      narration:
        "The kubelet-like driver reads examples/multi-container-pod.yaml as the chapter prints it: " +
        "RunPodSandbox (pinned netns, pause holder, CNI ADD), then the web container (nginx:1.21 → cnilab's " +
        "static web server on port 80) and the sidecar (busybox running the chapter's wget loop).",
      async run(ctx) {
        const s = ctx.state;
        s.dir = await labDir(ctx);
        s.confDir = `${s.dir}/net.d`;
        ({ binDir: s.binDir } = await recordingBinDir(ctx, s.dir));
        const subnet = s.subnet!;
        await ctx.writeFile(
          `${s.confDir}/10-lab24.conflist`,
          bridgeConflist("lab24", BRIDGE, subnet, `${s.dir}/ipam`),
        );
        await markedBridge(ctx, BRIDGE);
        const manifest = parsePodManifest(
          readFileSync(`${REPO_ROOT}/examples/multi-container-pod.yaml`, "utf8"),
          "examples/multi-container-pod.yaml",
        );
        await ctx.owner.record(podUndo(POD));
        s.pod =
          (await runPod(manifest, { confDir: s.confDir, binDirs: [s.binDir], cacheDir: `${s.dir}/cache` }))
            .sandbox;
        ctx.note(
          `pod ${POD}: IP ${s.pod.status?.ip}, holder PID ${s.pod.holder?.pid}, netns ${s.pod.netns.path}`,
        );
      },
      check(ctx) {
        const pod = readState(ctx.state.pod!.id);
        ctx.expect("both containers run", pod.containers.map((c) => `${c.name}:${c.phase}`), [
          "web:running",
          "sidecar:running",
        ]);
        ctx.expect(
          "the holder shows as pause",
          readFileSync(`/proc/${pod.holder!.pid}/comm`, "utf8").trim(),
          "pause",
        );
        return Promise.resolve();
      },
    },
    {
      title: "The pause holder owns the pod's network, IPC and UTS namespaces",
      mirrors: "2.4 Pause Container Role: Network, IPC (and UTS) namespaces held by pause",
      narration:
        "Every process's namespaces are visible as /proc/<pid>/ns/<kind> links. The holder's net, ipc " +
        "and uts namespaces are the pod's; both containers joined them; the host has its own.",
      async run(ctx) {
        const pod = ctx.state.pod!;
        const web = container(pod, "web").pid;
        const sidecar = container(pod, "sidecar").pid;
        ctx.note(
          ["ns    pause holder         web                  sidecar              host"]
            .concat(
              NAMESPACES.map((ns) =>
                `${ns.padEnd(5)} ${nsOf(pod.holder!.pid, ns).padEnd(20)} ${nsOf(web, ns).padEnd(20)} ${
                  nsOf(sidecar, ns).padEnd(20)
                } ${nsOf("self", ns)}`
              ),
            ).join("\n"),
        );
        const routes = (await route.list({ netns: pod.netns.name })).map((r) =>
          `${r.dst}${r.via ? ` via ${r.via}` : ""}`
        );
        ctx.note(box("PAUSE CONTAINER", [
          `POD ${POD} — pause holder PID ${pod.holder!.pid}`,
          `  Network Namespace ${nsOf(pod.holder!.pid, "net")}: eth0 ${pod.status?.ip}, routes ${
            routes.join(", ")
          }`,
          `  IPC Namespace     ${nsOf(pod.holder!.pid, "ipc")}: shared memory, semaphores`,
          `  UTS Namespace     ${nsOf(pod.holder!.pid, "uts")}: hostname ${POD}`,
          `  PID Namespace     not shared (shareProcessNamespace: false)`,
          `  ▲ web (PID ${web}) and sidecar (PID ${sidecar}) joined pause's namespaces`,
        ]));
      },
      check(ctx) {
        const pod = ctx.state.pod!;
        const web = container(pod, "web").pid;
        const sidecar = container(pod, "sidecar").pid;
        for (const ns of NAMESPACES) {
          const held = nsOf(pod.holder!.pid, ns);
          ctx.expect(`${ns}: web and sidecar are in the holder's namespace`, [
            nsOf(web, ns),
            nsOf(sidecar, ns),
          ], [held, held]);
          ctx.expectThat(
            `${ns}: the host's is a different one`,
            held !== nsOf("self", ns),
            `not ${held}`,
            nsOf("self", ns),
          );
        }
        ctx.expect(
          "the holder's network namespace is the pinned one",
          nsOf(pod.holder!.pid, "net"),
          `net:[${statSync(pod.netns.path).ino}]`,
        );
        return Promise.resolve();
      },
    },
    {
      title: "Containers share the network: localhost works",
      mirrors: "2.4 Benefits: Containers share network (localhost works)",
      narration:
        "The sidecar's loop (`wget -q -O- localhost:80`) reaches the web container because localhost " +
        "is the pod's lo, shared by both. Both see the same eth0 and address.",
      async run(ctx) {
        const pod = ctx.state.pod!;
        let log = "";
        for (let i = 0; i < 100 && !log.includes("<h1>"); i++) {
          log = containerLogs(pod.id, "sidecar");
          if (!log.includes("<h1>")) await new Promise((r) => setTimeout(r, 50));
        }
        ctx.note(`sidecar log: ${log.split("\n").find((l) => l.includes("<h1>"))?.trim() ?? "(empty)"}`);
      },
      async check(ctx) {
        const pod = ctx.state.pod!;
        ctx.expectThat(
          "the sidecar's log shows the web page fetched over localhost",
          containerLogs(pod.id, "sidecar").includes("<h1>"),
          "the page's <h1>",
          containerLogs(pod.id, "sidecar").slice(0, 80) || "empty",
        );
        const ip = pod.status!.ip!;
        // `ip` run by each container itself (inside its mount namespace), literal on purpose: what the
        // container sees, not a host-side lib/iproute2 read
        const inWeb = await execIn(pod, "web", ["ip", "-4", "-o", "addr", "show", "dev", "eth0"]);
        const inSidecar = await execIn(pod, "sidecar", ["ip", "-4", "-o", "addr", "show", "dev", "eth0"]);
        ctx.expectThat("web sees eth0 with the pod IP", inWeb.includes(` ${ip}/`), ip, inWeb);
        ctx.expectThat("the sidecar sees the same eth0 and IP", inSidecar.includes(` ${ip}/`), ip, inSidecar);
      },
    },
    {
      title: "Containers share IPC: shared memory made in one is seen in the other",
      mirrors: "2.4 Benefits: Containers share IPC (shared memory works)",
      narration:
        "ipcmk creates a System V shared memory segment in the web container. The sidecar lists it " +
        "(same IPC namespace); the host does not.",
      async run(ctx) {
        const pod = ctx.state.pod!;
        const made = await execIn(pod, "web", ["ipcmk", "-M", "4096"]);
        const id = /id: (\d+)/.exec(made)?.[1] ?? "?";
        const listed = await execIn(pod, "web", ["ipcs", "-m"]);
        ctx.state.ipcKey =
          listed.split("\n").map((l) => l.trim().split(/\s+/)).find((f) => f[1] === id)?.[0] ?? "";
        ctx.note(`web: ${made} (key ${ctx.state.ipcKey})`);
      },
      async check(ctx) {
        const pod = ctx.state.pod!;
        const key = ctx.state.ipcKey;
        ctx.expectThat("the segment has a key", /^0x[0-9a-f]+$/.test(key), "0x…", key || "none");
        ctx.expect(
          "the sidecar sees the segment",
          (await execIn(pod, "sidecar", ["ipcs", "-m"])).includes(key),
          true,
        );
        const host = await run(["ipcs", "-m"], { purpose: "read" });
        ctx.expect("the host does not", host.stdout.includes(key), false);
      },
    },
    {
      title: "Containers share the hostname (UTS)",
      mirrors: "2.4 Pause Container Role (UTS namespace)",
      narration:
        "The holder set the pod's hostname in its UTS namespace; both containers report it; the host " +
        "keeps its own.",
      run: () => Promise.resolve(),
      async check(ctx) {
        const pod = ctx.state.pod!;
        ctx.expect("web's hostname is the pod's", await execIn(pod, "web", ["hostname"]), POD);
        ctx.expect("the sidecar's hostname is the pod's", await execIn(pod, "sidecar", ["hostname"]), POD);
        ctx.expectThat("the host's hostname is its own", hostname() !== POD, `not ${POD}`, hostname());
      },
    },
    {
      title: "PID sharing, both ways",
      mirrors: "2.4 Pause Container Role: PID Namespace (shared)",
      narration:
        "The chapter draws a shared PID namespace; in Kubernetes it is opt-in (shareProcessNamespace: " +
        "true), and then pause is PID 1 and reaps for the pod. A second pod opts in. The chapter's pod does not: " +
        "Kubernetes would give each container its own PID namespace; cnilab leaves its containers in the host's, " +
        "so there PID 1 is the host's init, not pause.",
      async run(ctx) {
        const s = ctx.state;
        const text = readFileSync(`${REPO_ROOT}/examples/multi-container-pod.yaml`, "utf8")
          .replace(`name: ${POD}`, `name: ${SHARED}`)
          .replace("spec:\n", "spec:\n  shareProcessNamespace: true\n");
        await ctx.owner.record(podUndo(SHARED));
        s.shared = (await runPod(parsePodManifest(text, SHARED), {
          confDir: s.confDir,
          binDirs: [s.binDir],
          cacheDir: `${s.dir}/cache`,
        })).sandbox;
        ctx.note(
          `${SHARED}: the sidecar's ps -eo pid,args:\n${await execIn(s.shared, "sidecar", [
            "ps",
            "-eo",
            "pid,args",
          ])}`,
        );
      },
      async check(ctx) {
        const s = ctx.state;
        ctx.expect(
          `${SHARED}: PID 1 in the sidecar is pause`,
          await execIn(s.shared!, "sidecar", ["cat", "/proc/1/comm"]),
          "pause",
        );
        const ps = await execIn(s.shared!, "sidecar", ["ps", "-eo", "pid,args"]);
        ctx.expectThat(
          `${SHARED}: the sidecar sees the web server`,
          ps.includes("httpd"),
          "httpd in ps",
          ps.slice(0, 200),
        );
        const pauses =
          ps.split("\n").filter((l) =>
            / pause /.test(` ${l.trim().split(/\s+/).slice(1).join(" ")} `) ||
            l.includes("/pause -P")
          ).length;
        ctx.expect(`${SHARED}: it sees one pause (its own), not the other pod's`, pauses, 1);
        const pid1 = await execIn(s.pod!, "sidecar", ["cat", "/proc/1/comm"]);
        ctx.expectThat(
          `${POD} (not shared): PID 1 in the sidecar is not pause`,
          pid1 !== "pause",
          "not pause",
          pid1,
        );
      },
    },
    {
      title: "An app container crashes and restarts; the pod keeps its namespace and IP",
      mirrors: "2.5 Persistence / 2.4 Benefits: Pod survives container restarts",
      narration:
        "The web container's process is killed with SIGKILL, as a crash would. The holder keeps the " +
        "namespaces, so the restarted container comes back into the same netns with the same IP, and the sidecar " +
        "reaches it on localhost again.",
      async run(ctx) {
        const pod = ctx.state.pod!;
        const web = container(pod, "web");
        ctx.state.webPid = web.pid;
        await run(["kill", "-KILL", String(web.pid)]);
        for (let i = 0; i < 100 && processAlive(web.pid, web.start); i++) {
          await new Promise((r) => setTimeout(r, 10));
        }
        const phase = podSandboxStatus(pod.id).containers.find((c) => c.name === "web")?.phase;
        ctx.expect("the web container has exited", phase, "exited");
        await startContainer(pod.id, "web");
      },
      async check(ctx) {
        const pod = ctx.state.pod!;
        const state = podSandboxStatus(pod.id);
        const web = state.containers.find((c) => c.name === "web")!;
        const held = `net:[${statSync(pod.netns.path).ino}]`;
        ctx.expect("web runs again, restart count 1", [web.phase, web.restartCount], ["running", 1]);
        ctx.expectThat(
          "with a new process",
          web.process!.pid !== ctx.state.webPid,
          "a new PID",
          String(web.process!.pid),
        );
        ctx.expect("in the same network namespace", nsOf(web.process!.pid, "net"), held);
        const eth0 = (await addr.list({ netns: pod.netns.name, dev: "eth0", family: 4 })).map((a) => a.cidr);
        ctx.expect("the pod keeps its address", eth0, pod.status!.ips);
        ctx.expect("the holder never stopped", state.holder!.pid, pod.holder!.pid);
        let page = "";
        for (let i = 0; i < 20 && !page.includes("<h1>"); i++) {
          page = await execIn(pod, "sidecar", ["timeout", "3", "wget", "-q", "-O-", "localhost:80"]);
          if (!page.includes("<h1>")) await new Promise((r) => setTimeout(r, 50));
        }
        ctx.expectThat(
          "the sidecar reaches the restarted web on localhost",
          page.includes("<h1>"),
          "the page",
          page.slice(0, 80),
        );
      },
    },
    {
      title: "Remove both pods",
      mirrors: "2.5 Deletion",
      narration: "Each pod: containers and holder stopped, CNI DEL, namespace unpinned.",
      deletes: true,
      async run(ctx) {
        for (const pod of [ctx.state.pod!, ctx.state.shared!]) {
          await removePodSandbox(pod.id);
          await ctx.owner.forget(podUndo(pod.name));
        }
      },
      async check(ctx) {
        for (const pod of [ctx.state.pod!, ctx.state.shared!]) {
          ctx.expect(`${pod.name}: holder gone`, processAlive(pod.holder!.pid, pod.holder!.start), false);
        }
        ctx.expect(
          "no veth is left on the bridge",
          (await link.list()).filter((l) => l.master === BRIDGE).length,
          0,
        );
      },
    },
  ],

  explore(ctx) {
    return [
      "cnilab pod ls",
      `cnilab pod exec ${POD} -c sidecar -- wget -q -O- localhost:80`,
      `cnilab pod logs ${POD} -c sidecar`,
      `ls -l /proc/${ctx.state.pod?.holder?.pid ?? "<holder>"}/ns`,
      "cnilab clean",
    ];
  },
};
