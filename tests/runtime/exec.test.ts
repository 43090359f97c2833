/**
 * libcni takes its exec function from its caller (`NewCNIConfig(path, exec)`): what CniConfig hands the
 * exec (the plugin path, the CNI_* environment, the stdin with the list's name and version), and how a
 * plugin's error JSON comes back as a CniRuntimeError. No root, no plugin process.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CniError, CniRuntimeError } from "../../lib/cni/errors.ts";
import type { ExecOptions, ExecOutput } from "../../lib/cni/exec.ts";
import { CniConfig, parseConfList } from "../../lib/runtime/mod.ts";

const dir = mkdtempSync(join(tmpdir(), "cnilab-exec-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const bin = join(dir, "bin");
mkdirSync(bin);
writeFileSync(join(bin, "fake"), "#!/bin/sh\nexit 99\n"); // found along CNI_PATH, never run
chmodSync(join(bin, "fake"), 0o755);

interface Call {
  path: string;
  stdin: Record<string, unknown>;
  env: Record<string, string>;
  opts: ExecOptions;
}

function runtime(
  answer: (call: Call) => ExecOutput | Promise<ExecOutput>,
): { cni: CniConfig; calls: Call[]; warnings: string[] } {
  const calls: Call[] = [];
  const warnings: string[] = [];
  const cni = new CniConfig({
    binDirs: [bin],
    cacheDir: join(dir, "cache"),
    lockDir: join(dir, "locks"),
    onWarning: (message) => warnings.push(message),
    exec: (path, stdin, env, opts) => {
      const call = { path, stdin: JSON.parse(stdin), env, opts };
      calls.push(call);
      return Promise.resolve(answer(call));
    },
  });
  return { cni, calls, warnings };
}

const list = parseConfList(
  JSON.stringify({ cniVersion: "1.0.0", name: "exec-net", plugins: [{ type: "fake", extra: 1 }] }),
);
const rt = {
  containerId: "c-exec",
  netns: "/var/run/netns/x",
  ifName: "eth0",
  args: [["K", "V"]] as [string, string][],
};

describe("CniConfig with the caller's exec", () => {
  test("ADD goes through the given exec with the CNI_* environment and the list's name and version", async () => {
    const { cni, calls } = runtime(() => ({
      stdout: JSON.stringify({ cniVersion: "1.0.0", ips: [{ address: "10.1.0.2/24" }] }),
      stderr: "",
      durationMs: 1,
    }));
    const result = await cni.addNetworkList(list, rt);
    expect(result.ips).toEqual([{ address: "10.1.0.2/24" }]);
    expect(calls.length).toBe(1);
    expect(calls[0].path).toBe(join(bin, "fake"));
    expect(calls[0].env).toEqual({
      CNI_COMMAND: "ADD",
      CNI_CONTAINERID: "c-exec",
      CNI_NETNS: "/var/run/netns/x",
      CNI_ARGS: "K=V",
      CNI_IFNAME: "eth0",
      CNI_PATH: bin,
    });
    expect(calls[0].stdin).toEqual({ type: "fake", extra: 1, name: "exec-net", cniVersion: "1.0.0" });
    await cni.delNetworkList(list, rt);
    expect(calls.map((c) => c.env.CNI_COMMAND)).toEqual(["ADD", "DEL"]);
    expect(calls[1].stdin.prevResult).toEqual({
      cniVersion: "1.0.0",
      ips: [{ address: "10.1.0.2/24" }],
      dns: {},
    });
  });

  test("a plugin's error comes back as a CniRuntimeError naming the plugin, with the plugin's code", async () => {
    const { cni, calls, warnings } = runtime(() => {
      const said = new CniError(11, "try again", "busy");
      throw new CniRuntimeError("try again; busy", { code: said.code, details: said.details, cause: said });
    });
    const error = await cni.addNetworkList(list, { ...rt, containerId: "c-exec-2" }).catch((e) => e);
    expect(error).toBeInstanceOf(CniRuntimeError);
    expect(error.message).toBe('plugin type="fake" name="exec-net" failed (add): try again; busy');
    expect(error.code).toBe(11);
    expect(error.plugin).toBe("fake");
    expect(error.op).toBe("add");
    // the failed ADD is rolled back with a DEL through the same exec
    expect(calls.map((c) => c.env.CNI_COMMAND)).toEqual(["ADD", "DEL"]);
    expect(warnings).toEqual([
      'rollback after failed ADD: plugin type="fake" name="exec-net" failed (del): try again; busy',
    ]);
  });
});
