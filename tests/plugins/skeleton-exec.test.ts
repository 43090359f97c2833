/**
 * Delegation (lib/cni/exec.ts): finding a plugin along CNI_PATH like libcni, running it with CNI_COMMAND
 * changed, and reading back its result or its error, with cnilab's and the reference host-local.
 */
import { afterEach, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { CniError } from "../../lib/cni/errors.ts";
import { execPlugin, findPlugin } from "../../lib/cni/exec.ts";
import { CNILAB_BIN, ensurePlugins, REF_BIN, removeDir, reservations, tempDir } from "./helpers.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d);
});
beforeAll(ensurePlugins);

function scratch(): string {
  const d = tempDir("tplg-exec");
  dirs.push(d);
  return d;
}

describe("findPlugin", () => {
  test("the first regular executable file along the path wins", () => {
    const d = scratch();
    mkdirSync(`${d}/a/host-local`, { recursive: true }); // a directory: skipped
    mkdirSync(`${d}/b`);
    writeFileSync(`${d}/b/host-local`, "not executable"); // not executable: skipped
    mkdirSync(`${d}/c`);
    copyFileSync(`${REF_BIN}/host-local`, `${d}/c/host-local`);
    chmodSync(`${d}/c/host-local`, 0o755);
    expect(findPlugin("host-local", [`${d}/a`, `${d}/b`, `${d}/c`, REF_BIN])).toBe(`${d}/c/host-local`);
  });

  test.each([["", 7], ["../host-local", 7], ["nonesuch", 7]])(
    "type %p is refused with code %p",
    (type, code) => {
      let caught: unknown;
      try {
        findPlugin(type, [REF_BIN]);
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(CniError);
      expect((caught as CniError).code).toBe(code);
    },
  );
});

describe("execPlugin", () => {
  for (
    const [who, dir, type] of [["cnilab", CNILAB_BIN, "cnilab-host-local"], [
      "reference",
      REF_BIN,
      "host-local",
    ]]
  ) {
    test(`${who} host-local as delegate: ADD result in the 1.x shape, DEL releases, errors keep their code`, async () => {
      const d = scratch();
      const config = JSON.stringify({
        cniVersion: "0.4.0",
        name: "tplg-net",
        type: "bridge",
        ipam: { type, dataDir: d, ranges: [[{ subnet: "10.84.0.0/30" }]] },
      });
      const env = { CNI_CONTAINERID: "c1", CNI_NETNS: "/x", CNI_IFNAME: "eth0", CNI_PATH: dir };
      const saved = { ...process.env };
      Object.assign(process.env, env);
      try {
        const result = await execPlugin(type, "ADD", config, [dir]);
        expect(result?.ips).toEqual([{ address: "10.84.0.2/30", gateway: "10.84.0.1" }]); // no `version`: 1.x shape
        expect(Object.keys(reservations(d, "tplg-net"))).toEqual(["10.84.0.2"]);
        process.env.CNI_CONTAINERID = "c2";
        let caught: unknown;
        try {
          await execPlugin(type, "ADD", config, [dir]);
        } catch (e) {
          caught = e;
        }
        expect((caught as CniError).code).toBe(999);
        expect((caught as CniError).message).toContain("no IP addresses available");
        process.env.CNI_CONTAINERID = "c1";
        expect(await execPlugin(type, "DEL", config, [dir])).toBeUndefined();
        expect(reservations(d, "tplg-net")).toEqual({});
      } finally {
        for (const k of Object.keys(env)) delete process.env[k];
        Object.assign(process.env, saved);
      }
    });
  }
});
