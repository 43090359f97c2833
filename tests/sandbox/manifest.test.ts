/**
 * Pod manifests: the chapter's manifest parses as written; every bad field is refused with its path.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { ManifestError, parsePodManifest, planProcess, resolveImageKind } from "../../lib/sandbox/mod.ts";
import { ROOT } from "./helpers.ts";

const SEED = readFileSync(`${ROOT}/examples/multi-container-pod.yaml`, "utf8");

describe("manifest", () => {
  test("the chapter's multi-container pod parses unmodified", async () => {
    const pod = parsePodManifest(SEED);
    expect(pod.name).toBe("multi-container-pod");
    expect(pod.namespace).toBe("default");
    expect(pod.containers.map((c) => [c.name, c.image, c.imageKind])).toEqual([
      ["web", "nginx:1.21", "nginx"],
      ["sidecar", "busybox", "busybox"],
    ]);
    expect(pod.containers[0].ports).toEqual([{
      containerPort: 80,
      protocol: "TCP",
      name: undefined,
      hostPort: undefined,
    }]);
    const web = await planProcess(pod, pod.containers[0], "/x", "web");
    expect(web.argv).toEqual(["/bin/busybox", "httpd", "-f", "-v", "-p", "80", "-h", "/x/html"]);
    expect(web.files[0].content).toContain("multi-container-pod");
    const sidecar = await planProcess(pod, pod.containers[1], "/x", "sidecar");
    expect(sidecar.argv).toEqual([
      "/bin/busybox",
      "sh",
      "-c",
      "while true; do wget -q -O- localhost:80; sleep 5; done",
    ]);
  });

  test("image references map to the built-in images, others are unknown", () => {
    expect(resolveImageKind("docker.io/library/nginx:1.25@sha256:abc")).toBe("nginx");
    expect(resolveImageKind("registry.local:5000/busybox:1.36")).toBe("busybox");
    expect(resolveImageKind("redis:7")).toBeUndefined();
    expect(resolveImageKind("nginx-ingress")).toBeUndefined();
  });

  const bad: [string, string, RegExp][] = [
    ["not YAML", "kind: [Pod", /not valid YAML/],
    ["wrong kind", SEED.replace("kind: Pod", "kind: Deployment"), /kind: must be "Pod"/],
    [
      "unknown image",
      SEED.replace("image: busybox", "image: redis:7"),
      /containers\[1\]\.image: unknown image "redis:7"/,
    ],
    [
      "unknown field",
      SEED.replace("    ports:", "    volumeMounts: []\n    ports:"),
      /containers\[0\]\.volumeMounts: unknown/,
    ],
    [
      "port out of range",
      SEED.replace("containerPort: 80", "containerPort: 70000"),
      /containerPort: must be a port/,
    ],
    ["bad pod name", SEED.replace("name: multi-container-pod", "name: Multi_Pod"), /metadata\.name/],
    ["duplicate container", SEED.replace("name: sidecar", "name: web"), /container name web is used twice/],
    [
      "no containers",
      "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {containers: []}\n",
      /at least one/,
    ],
    ["command not a list", SEED.replace(/command: .*/, "command: sh -c true"), /command: must be a list/],
  ];
  for (const [what, text, message] of bad) {
    test(`refuses ${what}`, () => {
      let error: unknown;
      try {
        parsePodManifest(text, "pod.yaml");
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ManifestError);
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message.startsWith("pod.yaml")).toBe(true);
    });
  }

  test("a busybox command that is not an applet is refused at planning", async () => {
    const pod = parsePodManifest(SEED.replace("command: ['sh',", "command: ['python3',"));
    await expect(planProcess(pod, pod.containers[1], "/x", "spec.containers[1]")).rejects.toThrow(
      /not a busybox applet/,
    );
  });
});
