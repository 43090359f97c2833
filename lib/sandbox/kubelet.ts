/**
 * A kubelet-like driver: turns a Pod manifest into the CRI calls of the chapter's "Pod Creation Sequence"
 * — RunPodSandbox (steps 4-8), then CreateContainer and StartContainer for each container (steps 9-10).
 * Every image and field is checked before the first call, so a bad manifest creates nothing.
 * @module
 */
import { existsSync } from "node:fs";
import { planProcess, type ProcessPlan } from "./image.ts";
import type { PodManifest } from "./manifest.ts";
import {
  createContainer,
  type NetworkChoice,
  removePodSandbox,
  runPodSandbox,
  type SandboxConfig,
  startContainer,
} from "./runtime.ts";
import { claimPath, readState, type SandboxState, type Timing } from "./state.ts";
import { SandboxError } from "./errors.ts";

/** The result of running a pod: its sandbox state and the driver's timings (sandbox + each container). */
export interface RunPodResult {
  sandbox: SandboxState;
  timings: Timing[];
}

/** Checks everything a manifest needs before anything is created (images, commands, name still free). */
export async function validatePod(pod: PodManifest): Promise<void> {
  if (existsSync(claimPath(pod.namespace, pod.name))) {
    throw new SandboxError(`pod ${pod.namespace}/${pod.name} already exists (cnilab pod rm ${pod.name})`);
  }
  for (const [i, c] of pod.containers.entries()) {
    await planProcess(pod, c, "/nonexistent", `spec.containers[${i}]`);
  }
}

/**
 * The kubelet's `generatePodSandboxConfig`, reduced to what cnilab honours: the pod's identity, labels and
 * annotations, `shareProcessNamespace`, and each container port with a hostPort as a port mapping. `extra`
 * adds what the kubelet computes from elsewhere (the DNS config from the cluster DNS and dnsPolicy).
 */
export function sandboxConfig(pod: PodManifest, extra: Partial<SandboxConfig> = {}): SandboxConfig {
  return {
    name: pod.name,
    namespace: pod.namespace,
    uid: pod.uid,
    hostname: pod.hostname,
    labels: pod.labels,
    annotations: pod.annotations,
    sharePid: pod.shareProcessNamespace,
    portMappings: pod.containers.flatMap((c) =>
      c.ports.filter((p) => p.hostPort).map((p) => ({
        hostPort: p.hostPort as number,
        containerPort: p.containerPort,
        protocol: p.protocol.toLowerCase(),
      }))
    ),
    ...extra,
  };
}

/** Runs a pod: sandbox, then its containers in order. On any failure the whole pod is removed again. */
export async function runPod(pod: PodManifest, choice: NetworkChoice = {}): Promise<RunPodResult> {
  await validatePod(pod);
  const sandbox = await runPodSandbox(sandboxConfig(pod), choice);
  const timings = [...sandbox.timings];
  try {
    for (const [i, c] of pod.containers.entries()) {
      const started = performance.now();
      const plan: ProcessPlan = await planProcess(
        pod,
        c,
        `${sandbox.dir}/containers/${c.name}`,
        `spec.containers[${i}]`,
      );
      const env = Object.fromEntries(c.env.map((e) => [e.name, e.value]));
      const id = createContainer(sandbox.id, {
        name: c.name,
        image: c.image,
        argv: plan.argv,
        env: { ...plan.env, ...env },
        workingDir: c.workingDir,
        ports: c.ports,
        files: plan.files,
      });
      await startContainer(sandbox.id, id);
      timings.push({ step: `container ${c.name}`, ms: performance.now() - started });
    }
  } catch (error) {
    await removePodSandbox(sandbox.id);
    throw error;
  }
  return { sandbox: readState(sandbox.id), timings };
}
