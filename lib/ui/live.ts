/**
 * The live topology: re-read (the same reading as `cnilab show`) whenever the kernel says something changed,
 * and pushed on when the reading differs from the last one.
 *
 * Triggers, measured with `cnilab bench ui` (docs/ui.md): `ip monitor all-nsid` reports link, address and
 * route changes in the host and in every namespace the host has an id for (each pod's, once its veth peer
 * is there), and a watch on /run/netns reports namespaces added and removed; each starts a reading after a
 * short debounce. A slow poll catches what neither reports (a process starting in a pod, a link in a
 * namespace that has no id yet).
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, type FSWatcher, watch } from "node:fs";
import { ipArgv } from "../iproute2/mod.ts";
import { listOwners } from "../ownership/mod.ts";
import { listStates } from "../sandbox/state.ts";
import { readTopology } from "../topology/mod.ts";
import type { UiPod, UiRun, UiSnapshot } from "./model.ts";

/** A reading without its sequence number and time. */
export type Reading = Omit<UiSnapshot, "seq" | "at">;

/** Reads the kernel's topology, the pods' names and the runs' journals. */
export async function readSnapshot(): Promise<Reading> {
  const topology = await readTopology({ allHostLinks: true });
  const pods: UiPod[] = listStates().map((s) => ({
    netns: s.netns.name,
    namespace: s.namespace,
    name: s.name,
    containers: s.containers.map((c) => c.name),
  }));
  const runs: UiRun[] = [];
  for (const owner of await listOwners()) {
    const objects = owner.objects();
    runs.push({
      id: owner.id,
      kind: owner.info.kind,
      label: owner.info.label,
      kept: owner.info.kept,
      netns: objects.flatMap((o) => (o.kind === "netns" ? [o.name] : [])),
      links: objects.flatMap((o) => (o.kind === "link" ? [`${o.netns ?? "host"}/${o.name}`] : [])),
    });
  }
  return { topology, pods, runs };
}

/** Options for {@link watchTopology}. */
export interface WatchOptions {
  /** Where readings come from (default {@link readSnapshot}; the benchmark passes its own). */
  read?: () => Promise<Reading>;
  /** The slow poll's period (default 1000 ms). */
  pollMs?: number;
  /** Kernel notifications on (default true). */
  notifications?: boolean;
}

/** A running watch: the latest snapshot, and a way to stop. */
export interface TopologyWatch {
  latest(): UiSnapshot | undefined;
  stop(): void;
}

/** Watches the topology; calls `onChange` with every reading that differs from the one before. */
export function watchTopology(onChange: (s: UiSnapshot) => void, opts: WatchOptions = {}): TopologyWatch {
  const read = opts.read ?? readSnapshot;
  let last: UiSnapshot | undefined;
  let lastKey = "";
  let seq = 0;
  let running = false;
  let again = false;
  let stopped = false;
  let debounce: ReturnType<typeof setTimeout> | undefined;

  const reading = async () => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      do {
        again = false;
        let r: Reading;
        try {
          r = await read();
        } catch {
          continue; // a namespace vanished mid-reading: the next trigger reads again
        }
        const key = JSON.stringify(r);
        if (key !== lastKey && !stopped) {
          lastKey = key;
          last = { seq: ++seq, at: Date.now(), ...r };
          onChange(last);
        }
      } while (again && !stopped);
    } finally {
      running = false;
    }
  };
  const soon = () => {
    if (debounce === undefined) {
      debounce = setTimeout(() => {
        debounce = undefined;
        void reading();
      }, 10);
    }
  };

  let monitor: ChildProcess | undefined;
  let netnsWatch: FSWatcher | undefined;
  if (opts.notifications !== false) {
    // the monitor's lines are only a trigger: what changed is read back the same way `cnilab show` reads it
    const [exe, ...args] = ipArgv(["-o", "monitor", "all-nsid", "link", "address", "route"]);
    monitor = spawn(exe, args, {
      stdio: ["ignore", "pipe", "ignore"],
    });
    monitor.stdout?.on("data", soon);
    monitor.on("error", () => {});
    if (existsSync("/run/netns")) {
      try {
        netnsWatch = watch("/run/netns", soon);
      } catch {
        // no inotify here: the poll still sees it
      }
    }
  }
  const poll = setInterval(() => void reading(), opts.pollMs ?? 1000);
  void reading();
  return {
    latest: () => last,
    stop() {
      stopped = true;
      clearInterval(poll);
      if (debounce !== undefined) clearTimeout(debounce);
      monitor?.kill();
      netnsWatch?.close();
    },
  };
}
