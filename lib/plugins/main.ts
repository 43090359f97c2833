/**
 * The one multi-call executable behind every cnilab CNI plugin.
 *
 * `scripts/build-plugins.ts` compiles this file once (`dist/cni/cnilab-plugin`, ~100 MB with the Bun
 * runtime inside) and links it under each plugin's name; a runtime executes it by `type` like any plugin,
 * and it picks the plugin from the name it was started as (basename of argv[0]).
 *
 * Start-up is paid on every CNI operation: the plugins are loaded lazily and spawn through Bun.spawnSync.
 * @module
 */
import { process } from "../sys/process.ts";
import { dispatch, dispatchVersion } from "../cni/skeleton.ts";
import { useBunBackend } from "../shell/mod.ts";
import { setInProcessPlugins } from "./in-process.ts";
import { PLUGINS } from "./registry.ts";

interface BunIo {
  stdout: unknown;
  write(dest: unknown, data: string): Promise<number>;
}

/** Picks the plugin by the executable's name and hands it to the skeleton. */
async function main(): Promise<void> {
  const invokedAs = (process.argv0 ?? "").split("/").pop() ?? "";
  const load = PLUGINS[invokedAs];
  if (!load) {
    const bun = (globalThis as unknown as { Bun: BunIo }).Bun;
    const error = {
      cniVersion: "1.1.0",
      code: 4,
      msg: `cnilab plugin started as ${JSON.stringify(invokedAs)}`,
      details: `run it through one of its names: ${Object.keys(PLUGINS).join(", ")}`,
    };
    await bun.write(bun.stdout, JSON.stringify(error) + "\n");
    process.exit(1);
  }
  // VERSION is the skeleton's answer: loading the plugin's module first was a third of its time
  if (process.env.CNI_COMMAND === "VERSION") await dispatchVersion();
  useBunBackend();
  setInProcessPlugins(PLUGINS);
  const { plugin } = await load();
  await dispatch(plugin, plugin.about);
}

// no top-level await: `bun build --compile --bytecode` (faster start-up) needs the CommonJS shape
main();
