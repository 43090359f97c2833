/**
 * Typed undos. A higher layer registers a teardown under a name, and records
 * `{ kind: "teardown", name, what, data }` before it creates what the teardown undoes; releasing the
 * journal calls the teardown with the data. Ownership never imports the layer that registers one (the
 * sandbox registers its pod network's CNI DEL), so a process that releases such an entry must have loaded
 * the registering module: `lib/cli/main.ts` does for every command. An entry whose teardown is not
 * registered in the releasing process stays in the journal for the next `cnilab clean`.
 * @module
 */

/** Undoes what one journal entry stands for; `data` is the entry's, as JSON kept it. */
export type Teardown = (data: unknown) => Promise<void>;

const registry = new Map<string, Teardown>();

/** Registers a teardown (a module does it once, when it is loaded). */
export function registerTeardown(name: string, teardown: Teardown): void {
  registry.set(name, teardown);
}

/** Runs the teardown an entry names; throws when this process has none registered under that name. */
export async function runTeardown(name: string, data: unknown): Promise<void> {
  const teardown = registry.get(name);
  if (!teardown) throw new Error(`no teardown '${name}' is registered in this process`);
  await teardown(data);
}
