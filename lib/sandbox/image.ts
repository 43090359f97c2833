/**
 * Built-in process images. No registry is reachable, so nothing is pulled: an image reference maps to a
 * program already on the machine, and a container is that program started in the pod's namespaces.
 *
 * - `nginx`, `nginx:<tag>`, `<registry>/nginx:<tag>` → busybox's `httpd` serving a page that names the pod,
 *   on the container's first declared containerPort (80 when none is declared, like nginx's default).
 * - `busybox`, `busybox:<tag>` → Debian's static busybox; `command`/`args` name applets (`sh`, `wget`, …).
 *   With neither, busybox's default command `sh` runs (and exits at once, as it does in Kubernetes).
 * @module
 */
import { run } from "../shell/mod.ts";
import { ManifestError } from "./errors.ts";

/** The built-in images. */
export type ImageKind = "nginx" | "busybox";

/** The static busybox every image is built from (Debian package busybox-static). */
export const BUSYBOX = "/bin/busybox";

/** Which built-in image a reference means, or undefined for an unknown image. */
export function resolveImageKind(image: string): ImageKind | undefined {
  // [registry[:port]/][library/]repo[:tag][@digest] → repo
  const withoutDigest = image.split("@")[0];
  const lastSlash = withoutDigest.lastIndexOf("/");
  const repoAndTag = withoutDigest.slice(lastSlash + 1);
  const repo = repoAndTag.split(":")[0];
  if (repo === "nginx") return "nginx";
  if (repo === "busybox") return "busybox";
  return undefined;
}

/** A container's process, ready to start: argv, extra environment and files its image needs. */
export interface ProcessPlan {
  argv: string[];
  env: Record<string, string>;
  /** Files to write before starting (e.g. the page the web server serves). */
  files: { path: string; content: string }[];
  /** TCP port the process listens on, when it is a server. */
  listenPort?: number;
}

let applets: Set<string> | undefined;

/** The applets the installed busybox provides. */
export async function busyboxApplets(): Promise<Set<string>> {
  if (!applets) {
    const r = await run([BUSYBOX, "--list"], { purpose: "read" });
    applets = new Set(r.stdout.split("\n").map((s) => s.trim()).filter(Boolean));
  }
  return applets;
}

/** What the pod is, for the page the nginx image serves. */
export interface PodIdentity {
  name: string;
  namespace: string;
}

/** The container, as much of it as an image needs. */
export interface ImageInput {
  name: string;
  image: string;
  imageKind: ImageKind;
  command?: string[];
  args?: string[];
  ports: { containerPort: number; protocol: string }[];
}

/** The page cnilab's nginx image serves: it names the pod and the container. */
export function nginxPage(pod: PodIdentity, container: string): string {
  return `<!DOCTYPE html>
<html>
<head><title>Welcome to nginx!</title></head>
<body>
<h1>Welcome to nginx!</h1>
<p>Served by pod ${pod.namespace}/${pod.name}, container ${container} (cnilab's built-in nginx image: busybox httpd).</p>
</body>
</html>
`;
}

/**
 * Plans the process of one container. `dir` is a directory that belongs to this container (its web root
 * lives there). Throws a {@link ManifestError} when the container asks for something the image lacks.
 */
export async function planProcess(
  pod: PodIdentity,
  c: ImageInput,
  dir: string,
  path: string,
): Promise<ProcessPlan> {
  if (c.imageKind === "nginx") {
    if (c.command || c.args) {
      throw new ManifestError(
        `${path}.command`,
        `cnilab's nginx image runs its built-in static server and takes no command or args`,
      );
    }
    const tcp = c.ports.find((p) => p.protocol === "TCP");
    const listenPort = tcp?.containerPort ?? 80;
    const root = `${dir}/html`;
    return {
      argv: [BUSYBOX, "httpd", "-f", "-v", "-p", String(listenPort), "-h", root],
      env: {},
      files: [{ path: `${root}/index.html`, content: nginxPage(pod, c.name) }],
      listenPort,
    };
  }
  // busybox: Kubernetes semantics: command replaces the entrypoint (none for busybox), args replace CMD (["sh"])
  const argv = c.command ? [...c.command, ...(c.args ?? [])] : (c.args ?? ["sh"]);
  if (argv.length === 0) throw new ManifestError(`${path}.command`, "is empty");
  const program = argv[0];
  const applet = program.startsWith("/") ? program.slice(program.lastIndexOf("/") + 1) : program;
  if (program.startsWith("/") && !/^\/(usr\/)?s?bin\/[^/]+$/.test(program)) {
    throw new ManifestError(`${path}.command[0]`, `${program} is not in the busybox image`);
  }
  if (!(await busyboxApplets()).has(applet)) {
    throw new ManifestError(`${path}.command[0]`, `${JSON.stringify(program)} is not a busybox applet`);
  }
  return { argv: [BUSYBOX, applet, ...argv.slice(1)], env: {}, files: [] };
}
