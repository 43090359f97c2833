/**
 * Every lab, in chapter order. A lab's id is its chapter section's slug; its section number is the
 * chapter's ("2.1" … "2.5").
 * @module
 */
import { entry, type LabEntry } from "../lib/lab/mod.ts";
import { containerRuntimeIntegration } from "./container-runtime-integration.ts";
import { kubeletCniFlow } from "./kubelet-cni-flow.ts";
import { kubernetesCniIntegration } from "./kubernetes-cni-integration.ts";
import { networkNamespaceLifecycle } from "./network-namespace-lifecycle.ts";
import { podSandboxNetworking } from "./pod-sandbox-networking.ts";

/** The labs, in chapter order. */
export const LABS: LabEntry[] = [
  entry(kubernetesCniIntegration),
  entry(kubeletCniFlow),
  entry(containerRuntimeIntegration),
  entry(podSandboxNetworking),
  entry(networkNamespaceLifecycle),
];

/** Finds a lab by id or section number; undefined when there is none. */
export function findLab(key: string): LabEntry | undefined {
  return LABS.find((l) => l.id === key || l.section === key);
}
