/**
 * The check kinds that need no root, one describe each (lib/exercise/kinds/*.ts): each is given a spec as
 * checks.yaml would write it and real files or processes, and must pass on the right state and fail, with
 * an observation, on the wrong one.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn } from "node:child_process";
import type { CheckContext } from "../../lib/exercise/checks.ts";
import type { CheckSpec, Exercise } from "../../lib/exercise/mod.ts";
import { substitute } from "../../lib/exercise/mod.ts";
import { KINDS } from "../../lib/exercise/kinds/mod.ts";

const dir = mkdtempSync(join(tmpdir(), "cnilab-kinds-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function context(vars: Record<string, string> = {}, code?: string): CheckContext {
  const ex = {
    id: "kinds-test",
    dir,
    names: { netns: [], links: [], pods: [], paths: [] },
    vars: { WORK: dir, ...vars },
    checks: [],
    code,
  } as unknown as Exercise;
  const all = { ...ex.vars };
  return { ex, vars: all, sub: (t) => substitute(t, all) };
}

function check(kind: string, spec: CheckSpec, ctx = context()) {
  return KINDS[kind](spec, ctx);
}

function statuses(results: { status: string }[]): string[] {
  return results.map((r) => r.status);
}

describe("require", () => {
  test("an existing path passes; a missing one is 'could not check' with the reason", async () => {
    expect(statuses(await check("require", { require: "${WORK}" }))).toEqual(["pass"]);
    const [r] = await check("require", { require: "${WORK}/nope", because: "setup makes it" });
    expect(r.status).toBe("broken");
    expect(r.actual).toBe(`${dir}/nope is missing: setup makes it`);
  });
});

describe("process", () => {
  test("a running process passes 'alive'; once killed (and reaped) it is gone", async () => {
    const child = spawn("sleep", ["30"]);
    const pid = String(child.pid);
    try {
      expect(statuses(await check("process", { process: pid }))).toEqual(["pass"]);
      const [r] = await check("process", { process: pid, alive: false });
      expect(r.status).toBe("fail");
      expect(r.observed).toBe(`process ${pid} still runs`);
    } finally {
      child.kill("SIGKILL");
      await new Promise((resolve) => child.once("exit", resolve));
    }
    expect(statuses(await check("process", { process: pid, alive: false }))).toEqual(["pass"]);
  });
});

describe("read", () => {
  test("binds the fields of a JSON file as ${as.key}; a missing file is 'could not check'", async () => {
    writeFileSync(join(dir, "state.json"), JSON.stringify({ ns: "cni-1", nested: { x: 1 } }));
    const ctx = context();
    expect(statuses(await check("read", { read: "${WORK}/state.json", as: "st" }, ctx))).toEqual(["pass"]);
    expect(ctx.vars["st.ns"]).toBe("cni-1");
    expect(ctx.vars["st.nested"]).toBeUndefined();
    expect(statuses(await check("read", { read: "${WORK}/none.json" }))).toEqual(["broken"]);
  });
});

describe("file", () => {
  test("exists, executable, line, contains and json fields each pass or fail with what was found", async () => {
    const f = join(dir, "conf.json");
    writeFileSync(f, JSON.stringify({ plugins: [{ type: "bridge" }] }));
    expect(statuses(await check("file", { file: f, json: { "plugins.0.type": "bridge" } }))).toEqual([
      "pass",
    ]);
    const [wrong] = await check("file", { file: f, json: { "plugins.0.type": "macvlan" } });
    expect(wrong.status).toBe("fail");
    expect(wrong.observed).toBe(`.plugins[0].type in ${f} is bridge`);
    expect(statuses(await check("file", { file: f, executable: true }))).toEqual(["fail"]);
    chmodSync(f, 0o755);
    expect(statuses(await check("file", { file: f, executable: true }))).toEqual(["pass"]);
    const t = join(dir, "sysctl.conf");
    writeFileSync(t, "net.ipv4.ip_forward=0\n");
    const [line] = await check("file", { file: t, line: "net.ipv4.ip_forward=1" });
    expect(line.status).toBe("fail");
    expect(line.observed).toBe(`net.ipv4.ip_forward=0 in ${t} is not right`); // the key, not the value wanted
    expect(statuses(await check("file", { file: t, contains: "ip_forward" }))).toEqual(["pass"]);
    expect(statuses(await check("file", { file: join(dir, "gone"), exists: false }))).toEqual(["pass"]);
  });
});

describe("files", () => {
  test("counts the entries of a directory that match", async () => {
    const d = join(dir, "results");
    mkdirSync(d);
    writeFileSync(join(d, "net-c1-eth0"), "");
    writeFileSync(join(d, "net-c2-eth0"), "");
    writeFileSync(join(d, "other"), "");
    expect(statuses(await check("files", { files: d, match: "^net-", count: 2 }))).toEqual(["pass"]);
    const [r] = await check("files", { files: d, match: "^net-", count: 0 });
    expect(r.status).toBe("fail");
    expect(r.actual).toBe("2: net-c1-eth0, net-c2-eth0");
  });
});

describe("run", () => {
  test("exit code, stdout_has and stdin; binds stdout as ${as}", async () => {
    const ctx = context();
    expect(
      statuses(await check("run", { run: ["sh", "-c", "echo hello"], stdout_has: "hell", as: "out" }, ctx)),
    )
      .toEqual(["pass"]);
    expect(ctx.vars.out).toBe("hello");
    const [r] = await check("run", { run: ["sh", "-c", "echo no >&2; exit 3"] });
    expect(r.status).toBe("fail");
    expect(r.actual).toBe("exit 3: no");
    expect(statuses(await check("run", { run: ["cat"], stdin: "piped text", stdout_has: "piped" })))
      .toEqual(["pass"]);
  });
});

describe("conf", () => {
  test("the networks containerd's go-cni loads from a conf dir, in order, and fields of the first", async () => {
    const d = join(dir, "net.d");
    mkdirSync(d);
    writeFileSync(
      join(d, "10-first.conflist"),
      JSON.stringify({ cniVersion: "1.0.0", name: "first", plugins: [{ type: "bridge" }] }),
    );
    writeFileSync(
      join(d, "20-second.conf"),
      JSON.stringify({ cniVersion: "1.0.0", name: "second", type: "ptp" }),
    );
    expect(statuses(await check("conf", { conf: d, max_conf_num: 2, names: ["first", "second"] })))
      .toEqual(["pass"]);
    const [order] = await check("conf", { conf: d, names: ["second"] });
    expect(order.status).toBe("fail");
    expect(order.observed).toBe(`it loads first from ${d}, in that order`);
    const [field] = await check("conf", { conf: d, expect: { "plugins.0.type": "bridge" } });
    expect(field.status).toBe("pass");
  });
});

describe("containerd", () => {
  test("reads the CRI [cni] table and binds conf_dir; no table fails; a missing file is 'could not check'", async () => {
    const f = join(dir, "config.toml");
    writeFileSync(
      f,
      'version = 2\n[plugins."io.containerd.grpc.v1.cri".cni]\n  conf_dir = "/srv/net.d"\n  bin_dir = "/srv/bin"\n',
    );
    const ctx = context();
    expect(statuses(await check("containerd", { containerd: f, as: "c" }, ctx))).toEqual(["pass"]);
    expect(ctx.vars["c.conf_dir"]).toBe("/srv/net.d");
    writeFileSync(f, "version = 2\n");
    expect(statuses(await check("containerd", { containerd: f }))).toEqual(["fail"]);
    expect(statuses(await check("containerd", { containerd: join(dir, "none.toml") }))).toEqual(["broken"]);
  });
});

describe("plugins", () => {
  test("every plugin the loaded network names is found and answers VERSION", async () => {
    const d = join(dir, "plugins-net.d");
    const bin = join(dir, "plugins-bin");
    mkdirSync(d);
    mkdirSync(bin);
    writeFileSync(
      join(d, "10-net.conflist"),
      JSON.stringify({
        cniVersion: "1.0.0",
        name: "net",
        plugins: [{ type: "good", ipam: { type: "missing" } }],
      }),
    );
    writeFileSync(
      join(bin, "good"),
      '#!/bin/sh\necho \'{"cniVersion":"1.0.0","supportedVersions":["1.0.0"]}\'\n',
    );
    chmodSync(join(bin, "good"), 0o755);
    const results = await check("plugins", { plugins: d, bin_dirs: bin });
    expect(results.map((r) => [r.name, r.status])).toEqual([
      [`plugin 'good' is found in ${bin} and answers VERSION`, "pass"],
      [`plugin 'missing' is found in ${bin} and answers VERSION`, "fail"],
    ]);
  });
});

describe("code", () => {
  test("runs the named check exported from the exercise's checks.ts", async () => {
    const file = join(dir, "checks.ts");
    writeFileSync(
      file,
      'export const checks = { hello: (ctx) => Promise.resolve([{ name: `hi ${ctx.ex.id}`, command: "-", status: "pass" }]) };\n',
    );
    expect(await check("code", { code: "hello" }, context({}, file))).toEqual([
      { name: "hi kinds-test", command: "-", status: "pass" },
    ]);
    await expect(check("code", { code: "nope" }, context({}, file))).rejects.toThrow(
      "exports no checks.nope",
    );
  });
});
