/**
 * The errata sheet: every place the chapter is outdated, wrong or inexact, one entry each, with the source
 * that says what really happens and the lab check that proves it on this machine. One source for
 * `cnilab errata [--json]`, the end of every transcript and docs/errata.md (scripts/errata-doc.ts).
 *
 * `lab` is a lab id, `step` a step title and `check` a check name, exactly as `cnilab run <lab> --json`
 * reports them; tests/errata.test.ts runs every referenced lab and asserts that each check exists in that
 * step and passed.
 * @module
 */

/** One erratum. */
export interface Erratum {
  /** A short stable id, e.g. `sandbox-order`. */
  id: string;
  /** What the chapter says, quoted. */
  claim: string;
  /** What really happens, and for which versions. */
  reality: string;
  /** Where that is written: a file and function in containerd, go-cni, libcni or kubelet, the spec, a release note. */
  source: string;
  /** The lab (its id) whose check proves it here. */
  lab: string;
  /** That lab's step title. */
  step: string;
  /** The check's name in that step. */
  check: string;
}

const L21 = "kubernetes-cni-integration";
const L22 = "kubelet-cni-flow";
const L23 = "container-runtime-integration";
const L24 = "pod-sandbox-networking";
const L25 = "network-namespace-lifecycle";

/** Every erratum, in chapter order. */
export const ERRATA: readonly Erratum[] = Object.freeze([
  {
    id: "kubelet-cni-flags",
    claim: "KUBELET PARAMETERS: --network-plugin=cni, --cni-conf-dir=/etc/cni/net.d, " +
      '--cni-bin-dir=/opt/cni/bin; "Kubelet reads: /etc/cni/net.d/*.conf, *.conflist"',
    reality: "Since Kubernetes 1.24 these kubelet flags do not exist (removed with dockershim) and the " +
      "kubelet reads no CNI config. The container runtime owns the dirs: containerd's CRI [cni] " +
      "conf_dir and bin_dir/bin_dirs (default /etc/cni/net.d, /opt/cni/bin).",
    source: 'kubernetes/kubernetes PR #106907, release note for 1.24 ("kubelet: following dockershim ' +
      'related flags are also removed … --network-plugin, --cni-conf-dir, --cni-bin-dir"); ' +
      "containerd pkg/cri/config/config.go CniConfig (bin_dir, conf_dir)",
    lab: L21,
    step: "Pod created → CRI → CNI ADD → pod has network",
    check: "CNI_PATH is config.toml's bin_dirs (no kubelet --cni-bin-dir)",
  },
  {
    id: "invalid-config-file",
    claim: '"Kubelet reads: /etc/cni/net.d/*.conf, *.conflist" (silent on a file that does not parse)',
    reality: "containerd 1.6 and 2.x (go-cni) sort .conf, .conflist and .json together and stop at the " +
      "first file that does not parse or has no plugins (ErrInvalidConfig, naming the file): valid " +
      'files after it are not loaded, NetworkReady is false ("cni plugin not initialized") and ' +
      "RunPodSandbox fails until the file is fixed. libcni's lookup by name (cnitool) also fails at " +
      "a broken .conflist sorted before the match. CRI-O's ocicni logs it and skips it.",
    source: "containerd/go-cni opts.go loadFromConfDir (vendored in containerd release/1.6 and " +
      "release/2.0), cni.go Load and Status, errors.go ErrInvalidConfig / ErrCNINotInitialized; " +
      "containerd release/1.6 pkg/cri/server/status.go Status, service_linux.go " +
      "(WithMinNetworkCount(2)); containernetworking/cni libcni/conf.go LoadNetworkConf; " +
      "cri-o/ocicni pkg/ocicni/ocicni.go loadNetworks",
    lab: L21,
    step: "A broken config file sorted first: containerd loads no network",
    check: "RunPodSandbox is refused with that message, naming the file",
  },
  {
    id: "sandbox-order",
    claim: '"4. RunPodSandbox() — Note over CRI: Create pause container — 5. Create network namespace — ' +
      '6. CNI ADD"',
    reality: "containerd (1.6 and 2.x) creates and pins the network namespace, runs CNI ADD into it, and " +
      "only then creates and starts pause inside it. Pause first is the older order, from when the " +
      "namespace belonged to the pause process; a pinned namespace exists with no process in it.",
    source: "containerd release/1.6 pkg/cri/server/sandbox_run.go RunPodSandbox (netns.NewNetNS, " +
      "setupPodNetwork, then container.NewTask and task.Start); containerd 2.x " +
      "internal/cri/server/sandbox_run.go (setupPodNetwork before " +
      "sandboxService.CreateSandbox/StartSandbox; pause in " +
      "internal/cri/server/podsandbox/sandbox_run.go)",
    lab: L22,
    step: "Kubelet → containerd RunPodSandbox: netns, CNI ADD, result, pause, ready (chapter steps 4–8)",
    check: "containerd's order: no process was in the namespace during CNI ADD (pause came after)",
  },
  {
    id: "stop-does-del",
    claim: '"Pod Deleted → Kubelet → CRI → CNI DEL → Network cleaned up"; DELETION: "CNI DEL called → ' +
      'Remove netns"',
    reality: "CNI DEL runs at StopPodSandbox: pause is stopped, DEL gets the netns path and the cached ADD " +
      "result as prevResult, then the pinned netns is removed. RemovePodSandbox stops the sandbox " +
      'again: a second DEL with CNI_NETNS="" and no prevResult (libcni deleted the cache), then the ' +
      "state goes. That second DEL is why the spec makes DEL idempotent.",
    source: "containerd release/1.6 pkg/cri/server/sandbox_stop.go stopPodSandbox / teardownPodNetwork, " +
      'sandbox_remove.go RemovePodSandbox ("Forcibly stopping sandbox"); 2.x ' +
      "internal/cri/server/sandbox_stop.go, sandbox_remove.go; libcni api.go DelNetworkList " +
      '(cacheDel); CNI SPEC.md ("Plugins MUST accept multiple DEL calls")',
    lab: L21,
    step: "Pod deleted → StopPodSandbox, RemovePodSandbox → CNI DEL, twice",
    check: "RemovePodSandbox ran DEL again: CNI_NETNS empty, no prevResult, and it succeeded",
  },
  {
    id: "example-ip",
    claim: '"IP: 10.0.1.5"',
    reality: "An example. The pod IP comes from the IPAM section of the network config the runtime loaded " +
      "(host-local's range here).",
    source: "CNI SPEC.md (IP Address Management: the IPAM plugin allocates; the result's ips); " +
      "containernetworking/plugins plugins/ipam/host-local",
    lab: L22,
    step: "Pod Running: the chapter's STEP 8-11 box, filled in (chapter step 11)",
    check: "the pod IP comes from the network's IPAM range (the chapter's 10.0.1.5 is an example)",
  },
  {
    id: "dns-from-runtime",
    claim: '"4. Configure interface — IP, routes, DNS"; "DNS: ✓" (DNS set up by the CNI plugin)',
    reality: "In containerd 1.6 and 2.x the pod's resolv.conf is written by the runtime from the kubelet's " +
      "DNSConfig; the plugins get it only as the `dns` capability. The `dns` in a CNI result (the " +
      'nameservers the network "is aware of") is not read by containerd.',
    source: "containerd release/1.6 pkg/cri/server/sandbox_run_linux.go setupSandboxFiles and " +
      "parseDNSOptions (2.x internal/cri/server/podsandbox/sandbox_run_linux.go); sandbox_run.go " +
      "cniNamespaceOpts (cni.WithCapabilityDNS); CNI SPEC.md (result dns)",
    lab: L22,
    step: "Pod Running: the chapter's STEP 8-11 box, filled in (chapter step 11)",
    check: "resolv.conf is the kubelet's DNSConfig, written by the runtime; the result's dns was not " +
      "used",
  },
  {
    id: "containerd2-config-table",
    claim: '"[plugins.\\"io.containerd.grpc.v1.cri\\".cni]" in /etc/containerd/config.toml',
    reality: "That is containerd 1.x (config version 2). containerd 2.0 and later (config version 3) read " +
      '[plugins."io.containerd.cri.v1.runtime".cni]; a version 2 file is migrated when loaded.',
    source: 'containerd release/2.0 docs/cri/config.md ("The config version 3 was introduced in ' +
      'containerd v2.0"); plugins/cri/runtime/plugin.go configMigration',
    lab: L21,
    step: "Configuration: a conf dir, a bin dir, and the runtime's config.toml",
    check: "containerd 2.x (config version 3) reads the [cni] table of io.containerd.cri.v1.runtime",
  },
  {
    id: "max-conf-num",
    claim: '"# Maximum number of concurrent CNI calls" max_conf_num = 1',
    reality: "In containerd 1.x and 2.x, max_conf_num is how many config files go-cni loads from conf_dir, " +
      "in byte order (default 1, 0 = all); each one is another interface in every pod (eth0, eth1, " +
      "…). It limits no concurrency.",
    source: "containerd release/1.6 pkg/cri/config/config.go (2.x internal/cri/config/config.go) " +
      'CniConfig.NetworkPluginMaxConfNum ("the max number of plugin config files that will be ' +
      'loaded from the cni config directory by go-cni"); containerd/go-cni opts.go ' +
      "WithPluginMaxConfNum, loadFromConfDir",
    lab: L23,
    step: "What max_conf_num really does: 2 loads two networks (eth0, eth1)",
    check: "the pod has two interfaces",
  },
  {
    id: "pid-sharing-optional",
    claim: '"PID Namespace (shared)" in the pod sandbox',
    reality: "Containers of a pod share a PID namespace only with shareProcessNamespace: true (CRI " +
      "NamespaceMode POD); by default each container has its own (CONTAINER), and pause is not " +
      "their PID 1.",
    source: "kubernetes pkg/kubelet/kuberuntime/util/util.go PidNamespaceForPod; containerd release/1.6 " +
      "pkg/cri/opts/spec_linux.go (2.x internal/cri/opts/spec_opts.go) WithPodNamespaces (PID " +
      "joined only when not CONTAINER)",
    lab: L24,
    step: "PID sharing, both ways",
    check: "multi-container-pod (not shared): PID 1 in the sidecar is not pause",
  },
  {
    id: "uts-shared",
    claim: 'PAUSE CONTAINER: "Network Namespace … IPC Namespace … PID Namespace"',
    reality: "In containerd 1.6 and 2.x containers also join the sandbox's UTS namespace: they share the " +
      "pod's hostname. (The chapter omits it.)",
    source: "containerd release/1.6 pkg/cri/opts/spec_linux.go (2.x internal/cri/opts/spec_opts.go) " +
      "WithPodNamespaces (network, IPC and UTS namespaces of the sandbox)",
    lab: L24,
    step: "The pause holder owns the pod's network, IPC and UTS namespaces",
    check: "uts: web and sidecar are in the holder's namespace",
  },
  {
    id: "veth0-name",
    claim: '"Note over NS: veth0 in pod ns"',
    reality: "The pod end is named by CNI_IFNAME, which the runtime chooses: containerd 1.6 and 2.x use " +
      "eth0 (go-cni's prefix \"eth\" and the network's index; lo for loopback).",
    source: 'containerd/go-cni types.go DefaultPrefix = "eth", opts.go getIfName; containerd release/1.6 ' +
      'pkg/cri/server/helpers.go (2.x internal/cri/server/helpers.go) defaultIfName = "eth0"',
    lab: L25,
    step: "Create the veth pair: eth0 in the pod, vethXXXXXXXX on the host",
    check: "pod-a: the pod side is eth0 (CNI_IFNAME), there is no veth0",
  },
  {
    id: "netns-lifetime",
    claim: '"Namespace exists as long as pause container runs"',
    reality: "Exact only for a namespace nothing pins: then it dies with pause, and its veth with it. " +
      "containerd 1.6 and 2.x pin the pod's netns with a bind mount under /var/run/netns before " +
      "pause exists; it survives pause's death and is removed at StopPodSandbox.",
    source: "containerd pkg/netns/netns_linux.go NewNetNS (bind mount; release/1.6 and release/2.0); " +
      "release/1.6 pkg/cri/server/sandbox_stop.go (2.x internal/cri/server/sandbox_stop.go) " +
      "(sandbox.NetNS.Remove)",
    lab: L25,
    step: "Persistence, exactly: a namespace held only by pause dies with it; a pinned one does not",
    check: "pinned: the namespace survived its holder's death, with the pod's address",
  },
]);

/** Wraps text into lines of at most `width` characters (a longer single word stays whole). */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && [...line].length + 1 + [...word].length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

/** The sheet as plain text for an 80-column terminal (`cnilab errata`). */
export function renderText(errata: readonly Erratum[] = ERRATA, width = 80): string {
  const field = (label: string, text: string) =>
    wrap(text, width - 10).map((l, i) => `${i === 0 ? label.padEnd(9) : " ".repeat(9)} ${l}`).join("\n");
  return errata.map((e) =>
    [
      e.id,
      field("chapter", e.claim),
      field("really", e.reality),
      field("source", e.source),
      field("proved", `cnilab run ${e.lab}: step "${e.step}", check "${e.check}"`),
    ].join("\n")
  ).join("\n\n") + "\n";
}

/** The sheet as Markdown (docs/errata.md and the end of every transcript). */
export function renderMarkdown(errata: readonly Erratum[] = ERRATA, heading = "#"): string {
  return errata.map((e) =>
    [
      `${heading} \`${e.id}\``,
      "",
      `- **Chapter:** ${e.claim}`,
      `- **Really:** ${e.reality}`,
      `- **Source:** ${e.source}`,
      `- **Proved by:** \`cnilab run ${e.lab}\`, step "${e.step}", check "${e.check}"`,
    ].join("\n")
  ).join("\n\n") + "\n";
}

/** The section that ends every transcript (`cnilab run --transcript`): the whole sheet. */
export function transcriptSection(): string {
  return `## Errata: where the chapter and containerd differ\n\n${renderMarkdown(ERRATA, "###")}`;
}

/** docs/errata.md, generated by scripts/errata-doc.ts (tests/errata.test.ts checks it is up to date). */
export function errataDoc(): string {
  return `<!-- generated from lib/errata/mod.ts by scripts/errata-doc.ts: do not edit -->
# Errata: where chapter 2 and containerd differ

Every place the chapter is outdated, wrong or inexact, with the source that says what really happens and
the lab check that proves it on this machine. \`cnilab errata\` prints the same sheet; \`cnilab errata
--json\` prints it as \`[{id, claim, reality, source, lab, step, check}]\`.

${renderMarkdown(ERRATA, "##")}`;
}
