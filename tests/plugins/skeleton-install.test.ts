/**
 * `cnilab install-plugins --dir DIR`: what a user runs to put cnilab's plugins where a runtime looks.
 */
import { afterEach, beforeAll, expect, test } from "bun:test";
import { statSync } from "node:fs";
import { ensurePlugins, removeDir, ROOT, runPlugin, tempDir } from "./helpers.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d);
});
beforeAll(ensurePlugins);

test("installs one binary and a hard link per plugin name, says what it wrote, and the installed plugins run", async () => {
  const d = tempDir("tplg-install");
  dirs.push(d);
  const target = `${d}/opt/cni/bin`;
  const proc = Bun.spawnSync([`${ROOT}/bin/cnilab`, "install-plugins", "--dir", target], {
    env: { ...process.env, NO_COLOR: "1" },
  });
  const out = proc.stdout.toString();
  expect(proc.exitCode).toBe(0);
  const names = ["cnilab-plugin", "cnilab-bridge", "cnilab-host-local", "cnilab-loopback"];
  for (const name of names) expect(out).toContain(`${target}/${name}`);
  const inodes = new Set(names.map((n) => statSync(`${target}/${n}`).ino));
  expect(inodes.size).toBe(1);
  expect(statSync(`${target}/cnilab-loopback`).mode & 0o111).toBe(0o111);
  // a runtime finds it by type through CNI_PATH
  const v = await runPlugin(`${target}/cnilab-host-local`, {
    command: "VERSION",
    config: { cniVersion: "0.4.0" },
    path: target,
  });
  expect(v.json?.supportedVersions).toContain("1.1.0");
  // installing again replaces the files in place (the binary, its three names and `loopback`)
  expect(Bun.spawnSync([`${ROOT}/bin/cnilab`, "install-plugins", "--dir", target]).exitCode).toBe(0);
  expect(statSync(`${target}/cnilab-bridge`).nlink).toBe(5);
});
