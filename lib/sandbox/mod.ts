/**
 * cnilab's pod sandbox runtime: the chapter's "CRI runtime" and "pause" boxes. CRI-shaped operations
 * (runtime.ts) on a pinned network namespace (netns.ts), a pause holder (holder.ts) and container processes
 * (container.ts), with pod networking through cnilab's CNI runtime (network.ts → lib/runtime). A
 * kubelet-like driver (kubelet.ts) runs Pod manifests (manifest.ts) with built-in images (image.ts).
 * @module
 */
export * from "./errors.ts";
export * from "./manifest.ts";
export * from "./image.ts";
export * from "./netns.ts";
export * from "./holder.ts";
export * from "./container.ts";
export * from "./network.ts";
export * from "./state.ts";
export * from "./runtime.ts";
export * from "./kubelet.ts";
