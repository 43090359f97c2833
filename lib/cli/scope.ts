/**
 * What the views are scoped to: one run's objects (its journal, and the pods it started), and the pods
 * a namespace belongs to. Read from the ownership journals and the sandbox runtime's state files.
 * @module
 */
import { listOwners } from "../ownership/mod.ts";
import { listStates, type SandboxState } from "../sandbox/state.ts";
import type { PodLabel, Scope } from "../topology/mod.ts";

function states(): SandboxState[] {
  try {
    return listStates();
  } catch {
    return []; // no sandbox has run on this machine yet
  }
}

/** Every pod's label, by the name of its network namespace. */
export function podLabels(): Map<string, PodLabel> {
  return new Map(
    states().filter((st) => st.netns.name).map((
      st,
    ) => [st.netns.name, { namespace: st.namespace, name: st.name, sandboxId: st.id }]),
  );
}

/**
 * What a run owns: the objects in its journal, and those of the pods it started (the sandbox runtime
 * gives each pod its own journal, begun by the same process while the run was under way).
 */
export async function runScope(runId: string): Promise<Scope> {
  const owners = await listOwners();
  const run = owners.find((o) => o.id === runId) ?? owners.find((o) => o.id.startsWith(runId));
  const scope: Scope = { namespaces: new Set(), links: new Set() };
  if (!run) return scope;
  const pods = owners.filter((o) =>
    o.id !== run.id && o.info.kind === "pod" && o.info.pid === run.info.pid &&
    o.info.pidStart === run.info.pidStart && o.info.createdAt >= run.info.createdAt
  );
  const ids = new Set([run.id, ...pods.map((p) => p.id)]);
  for (const o of [run, ...pods]) {
    for (const obj of o.objects()) {
      if (obj.kind === "netns") scope.namespaces.add(obj.name);
      if (obj.kind === "link" && !obj.netns) scope.links.add(obj.name);
    }
  }
  // a sandbox pins its netns under /var/run/netns: its state says whose it is
  for (const st of states()) if (ids.has(st.ownerId) && st.netns.name) scope.namespaces.add(st.netns.name);
  return scope;
}
