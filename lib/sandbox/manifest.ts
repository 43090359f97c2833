/**
 * Pod manifests: the YAML a user writes (`kind: Pod`), parsed once at the edge into typed objects.
 *
 * Only the fields cnilab can honour are accepted; anything else is an error that names the field, so a
 * manifest never half-works. Everything here happens before any namespace, process or file is created.
 * @module
 */
import { parse as parseYaml } from "yaml";
import { ManifestError } from "./errors.ts";
import { type ImageKind, resolveImageKind } from "./image.ts";

export { ManifestError };

/** A port a container declares (informational in Kubernetes; cnilab's nginx image listens on it). */
export interface ContainerPort {
  containerPort: number;
  protocol: "TCP" | "UDP" | "SCTP";
  name?: string;
  hostPort?: number;
}

/** One container of a pod, as written in the manifest. */
export interface ContainerSpec {
  name: string;
  image: string;
  /** Which built-in process image the image reference maps to. */
  imageKind: ImageKind;
  /** Replaces the image's entrypoint (Kubernetes `command`). */
  command?: string[];
  /** Replaces the image's default arguments (Kubernetes `args`). */
  args?: string[];
  ports: ContainerPort[];
  env: { name: string; value: string }[];
  workingDir?: string;
}

/** A pod, as written in the manifest. */
export interface PodManifest {
  name: string;
  namespace: string;
  /** metadata.uid when given (Kubernetes sets it; cnilab makes one up otherwise). */
  uid?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** spec.hostname, else the pod name (as the kubelet does). */
  hostname: string;
  /** spec.shareProcessNamespace: one PID namespace for the whole pod, owned by the holder. */
  shareProcessNamespace: boolean;
  containers: ContainerSpec[];
}

/** Kubernetes fields cnilab accepts but has nothing to do with (no images to pull, no cgroups). */
const IGNORED_CONTAINER_FIELDS = new Set([
  "imagePullPolicy",
  "resources",
  "terminationMessagePath",
  "terminationMessagePolicy",
]);
const IGNORED_SPEC_FIELDS = new Set(["restartPolicy", "terminationGracePeriodSeconds", "dnsPolicy"]);

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function objectAt(v: unknown, path: string): Json {
  if (!isObject(v)) throw new ManifestError(path, `must be a mapping, got ${describeValue(v)}`);
  return v;
}

function describeValue(v: unknown): string {
  if (v === null || v === undefined) return "nothing";
  if (Array.isArray(v)) return "a list";
  return `${typeof v} ${JSON.stringify(v)}`.slice(0, 60);
}

function onlyKnown(obj: Json, path: string, known: string[], ignored = new Set<string>()): void {
  for (const key of Object.keys(obj)) {
    if (known.includes(key) || ignored.has(key)) continue;
    throw new ManifestError(
      `${path}.${key}`,
      `unknown or unsupported field (cnilab understands: ${known.join(", ")})`,
    );
  }
}

function stringAt(v: unknown, path: string): string {
  if (typeof v !== "string" || v === "") {
    throw new ManifestError(path, `must be a non-empty string, got ${describeValue(v)}`);
  }
  return v;
}

function stringList(v: unknown, path: string): string[] {
  if (!Array.isArray(v)) throw new ManifestError(path, `must be a list of strings, got ${describeValue(v)}`);
  return v.map((item, i) => {
    if (typeof item !== "string") {
      throw new ManifestError(`${path}[${i}]`, `must be a string, got ${describeValue(item)}`);
    }
    return item;
  });
}

function stringMap(v: unknown, path: string): Record<string, string> {
  if (v === undefined || v === null) return {};
  const obj = objectAt(v, path);
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(obj)) {
    if (typeof val !== "string") {
      throw new ManifestError(`${path}.${k}`, `must be a string, got ${describeValue(val)}`);
    }
    out[k] = val;
  }
  return out;
}

function port(v: unknown, path: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > 65535) {
    throw new ManifestError(path, `must be a port number 1-65535, got ${describeValue(v)}`);
  }
  return v;
}

function parsePorts(v: unknown, path: string): ContainerPort[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new ManifestError(path, `must be a list, got ${describeValue(v)}`);
  const seen = new Set<string>();
  return v.map((raw, i) => {
    const p = objectAt(raw, `${path}[${i}]`);
    onlyKnown(p, `${path}[${i}]`, ["containerPort", "protocol", "name", "hostPort", "hostIP"]);
    const protocol = p.protocol === undefined ? "TCP" : p.protocol;
    if (protocol !== "TCP" && protocol !== "UDP" && protocol !== "SCTP") {
      throw new ManifestError(
        `${path}[${i}].protocol`,
        `must be TCP, UDP or SCTP, got ${describeValue(protocol)}`,
      );
    }
    const containerPort = port(p.containerPort, `${path}[${i}].containerPort`);
    const key = `${containerPort}/${protocol}`;
    if (seen.has(key)) throw new ManifestError(`${path}[${i}]`, `port ${key} is declared twice`);
    seen.add(key);
    return {
      containerPort,
      protocol,
      name: p.name === undefined ? undefined : stringAt(p.name, `${path}[${i}].name`),
      hostPort: p.hostPort === undefined ? undefined : port(p.hostPort, `${path}[${i}].hostPort`),
    };
  });
}

function parseEnv(v: unknown, path: string): { name: string; value: string }[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new ManifestError(path, `must be a list, got ${describeValue(v)}`);
  return v.map((raw, i) => {
    const e = objectAt(raw, `${path}[${i}]`);
    onlyKnown(e, `${path}[${i}]`, ["name", "value"]);
    const name = stringAt(e.name, `${path}[${i}].name`);
    if (!ENV_NAME.test(name)) {
      throw new ManifestError(`${path}[${i}].name`, `${JSON.stringify(name)} is not a valid variable name`);
    }
    const value = e.value === undefined ? "" : e.value;
    if (typeof value !== "string") {
      throw new ManifestError(`${path}[${i}].value`, `must be a string, got ${describeValue(value)}`);
    }
    return { name, value };
  });
}

function parseContainer(raw: unknown, path: string): ContainerSpec {
  const c = objectAt(raw, path);
  onlyKnown(
    c,
    path,
    ["name", "image", "command", "args", "ports", "env", "workingDir"],
    IGNORED_CONTAINER_FIELDS,
  );
  const name = stringAt(c.name, `${path}.name`);
  if (!DNS_LABEL.test(name) || name.length > 63) {
    throw new ManifestError(
      `${path}.name`,
      `${JSON.stringify(name)} must be a DNS label (lowercase a-z, 0-9, '-', at most 63)`,
    );
  }
  const image = stringAt(c.image, `${path}.image`);
  const imageKind = resolveImageKind(image);
  if (!imageKind) {
    throw new ManifestError(
      `${path}.image`,
      `unknown image ${
        JSON.stringify(image)
      }: no registry is reachable, cnilab runs only its built-in images ` +
        `nginx* (static HTTP server) and busybox* (busybox applets); see docs/sandbox.md, "Built-in images"`,
    );
  }
  const command = c.command === undefined ? undefined : stringList(c.command, `${path}.command`);
  const args = c.args === undefined ? undefined : stringList(c.args, `${path}.args`);
  const workingDir = c.workingDir === undefined ? undefined : stringAt(c.workingDir, `${path}.workingDir`);
  if (workingDir !== undefined && !workingDir.startsWith("/")) {
    throw new ManifestError(
      `${path}.workingDir`,
      `must be an absolute path, got ${JSON.stringify(workingDir)}`,
    );
  }
  return {
    name,
    image,
    imageKind,
    command,
    args,
    ports: parsePorts(c.ports, `${path}.ports`),
    env: parseEnv(c.env, `${path}.env`),
    workingDir,
  };
}

/** Turns an already-decoded YAML/JSON document into a {@link PodManifest}, or throws a {@link ManifestError}. */
export function toPodManifest(doc: unknown): PodManifest {
  const root = objectAt(doc, "manifest");
  onlyKnown(root, "manifest", ["apiVersion", "kind", "metadata", "spec"]);
  if (root.apiVersion !== "v1") {
    throw new ManifestError("apiVersion", `must be "v1", got ${describeValue(root.apiVersion)}`);
  }
  if (root.kind !== "Pod") throw new ManifestError("kind", `must be "Pod", got ${describeValue(root.kind)}`);
  const meta = objectAt(root.metadata, "metadata");
  onlyKnown(meta, "metadata", ["name", "namespace", "uid", "labels", "annotations"]);
  const name = stringAt(meta.name, "metadata.name");
  if (!DNS_SUBDOMAIN.test(name) || name.length > 63) {
    throw new ManifestError(
      "metadata.name",
      `${
        JSON.stringify(name)
      } must be lowercase a-z, 0-9, '-' or '.', start and end alphanumeric, at most 63`,
    );
  }
  const namespace = meta.namespace === undefined ? "default" : stringAt(meta.namespace, "metadata.namespace");
  if (!DNS_LABEL.test(namespace)) {
    throw new ManifestError("metadata.namespace", `${JSON.stringify(namespace)} must be a DNS label`);
  }
  const uid = meta.uid === undefined ? undefined : stringAt(meta.uid, "metadata.uid");
  if (uid !== undefined && !/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(uid)) {
    throw new ManifestError(
      "metadata.uid",
      `${JSON.stringify(uid)} may hold only letters, digits, '_', '.', '-'`,
    );
  }
  const spec = objectAt(root.spec, "spec");
  onlyKnown(spec, "spec", ["containers", "shareProcessNamespace", "hostname"], IGNORED_SPEC_FIELDS);
  if (!Array.isArray(spec.containers) || spec.containers.length === 0) {
    throw new ManifestError("spec.containers", "must list at least one container");
  }
  const containers = spec.containers.map((c, i) => parseContainer(c, `spec.containers[${i}]`));
  const names = new Set<string>();
  for (const [i, c] of containers.entries()) {
    if (names.has(c.name)) {
      throw new ManifestError(`spec.containers[${i}].name`, `container name ${c.name} is used twice`);
    }
    names.add(c.name);
  }
  const ports = new Map<string, string>();
  for (const c of containers) {
    for (const p of c.ports) {
      const key = `${p.containerPort}/${p.protocol}`;
      const other = ports.get(key);
      if (other) {
        throw new ManifestError(
          `spec.containers[${c.name}].ports`,
          `port ${key} is also declared by ${other}`,
        );
      }
      ports.set(key, c.name);
    }
  }
  const share = spec.shareProcessNamespace ?? false;
  if (typeof share !== "boolean") {
    throw new ManifestError(
      "spec.shareProcessNamespace",
      `must be true or false, got ${describeValue(share)}`,
    );
  }
  const hostname = spec.hostname === undefined
    ? name.split(".")[0]
    : stringAt(spec.hostname, "spec.hostname");
  if (!DNS_LABEL.test(hostname)) {
    throw new ManifestError("spec.hostname", `${JSON.stringify(hostname)} must be a DNS label`);
  }
  return {
    name,
    namespace,
    uid,
    labels: stringMap(meta.labels, "metadata.labels"),
    annotations: stringMap(meta.annotations, "metadata.annotations"),
    hostname,
    shareProcessNamespace: share,
    containers,
  };
}

/** Parses the YAML text of a Pod manifest (`source` names it in errors). */
export function parsePodManifest(text: string, source = "manifest"): PodManifest {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (error) {
    throw new ManifestError(source, `not valid YAML: ${(error as Error).message.split("\n")[0]}`);
  }
  try {
    return toPodManifest(doc);
  } catch (error) {
    if (error instanceof ManifestError) {
      throw new ManifestError(`${source}: ${error.path}`, error.message.slice(error.path.length + 2));
    }
    throw error;
  }
}
