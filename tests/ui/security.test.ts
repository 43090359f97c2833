// `cnilab ui` is safe by default: each refusal of the issue, asked the way an attacker would ask.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect } from "node:net";
import { cli } from "../helpers.ts";
import { startCnilab, type UiProcess } from "./helpers.ts";

let ui: UiProcess;
let base: URL;
let token: string;

/** One raw HTTP/1.1 request (so Host and Origin are exactly what we say); resolves to status and headers. */
function raw(
  path: string,
  headers: Record<string, string>,
  opts: { method?: string; body?: string; host?: string } = {},
): Promise<{ status: number; head: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(base.port), opts.host ?? "127.0.0.1");
    let data = "";
    socket.on("data", (d) => {
      data += d.toString();
      // the event stream never ends: its headers are enough
      if (/\r\n\r\n/.test(data) && /text\/event-stream/.test(data)) socket.destroy();
    });
    socket.on("close", () => {
      const [head, ...rest] = data.split("\r\n\r\n");
      resolve({ status: Number(head.split(" ")[1]), head, body: rest.join("\r\n\r\n") });
    });
    socket.on("error", reject);
    const body = opts.body ?? "";
    const lines = [
      `${opts.method ?? "GET"} ${path} HTTP/1.1`,
      ...Object.entries({ connection: "close", ...headers }).map(([k, v]) => `${k}: ${v}`),
      ...(body ? [`content-length: ${Buffer.byteLength(body)}`, "content-type: application/json"] : []),
      "",
      body,
    ];
    socket.write(lines.join("\r\n"));
  });
}

beforeAll(async () => {
  ui = await startCnilab(["ui", "--port", "0"]);
  base = new URL(ui.url);
  token = base.searchParams.get("token")!;
});

afterAll(async () => {
  await ui?.stop();
});

describe("cnilab ui refuses", () => {
  test("the printed URL is on 127.0.0.1 with a long random token", () => {
    expect(base.hostname).toBe("127.0.0.1");
    expect(token).toMatch(/^[0-9a-f]{48}$/);
  });

  test("no token → 403, on the page, the event stream and the snapshot", async () => {
    const host = `127.0.0.1:${base.port}`;
    for (const path of ["/", "/events", "/api/snapshot", "/app.js"]) {
      expect((await raw(path, { host })).status).toBe(403);
    }
  });

  test("a wrong token → 403, in the URL and in the cookie", async () => {
    const host = `127.0.0.1:${base.port}`;
    expect((await raw(`/?token=${"0".repeat(48)}`, { host })).status).toBe(403);
    expect((await raw("/", { host, cookie: `cnilab_ui_${base.port}=${"0".repeat(48)}` })).status).toBe(403);
  });

  test("the token in the URL → a cookie (HttpOnly, SameSite=Strict) and the token leaves the address bar", async () => {
    const r = await raw(`/?token=${token}&view=pods`, { host: `localhost:${base.port}` });
    expect(r.status).toBe(303);
    expect(r.head).toMatch(
      new RegExp(`set-cookie: cnilab_ui_${base.port}=${token}; Path=/; HttpOnly; SameSite=Strict`, "i"),
    );
    expect(r.head).toMatch(/location: \/\?view=pods\r?$/im);
    const page = await raw("/", {
      host: `localhost:${base.port}`,
      cookie: `cnilab_ui_${base.port}=${token}`,
    });
    expect(page.status).toBe(200);
    expect(page.body).toContain("Topology as a list");
  });

  test("a foreign Host → 403, even with the token (DNS rebinding)", async () => {
    const cookie = `cnilab_ui_${base.port}=${token}`;
    for (const host of [`evil.example:${base.port}`, `127.0.0.1.nip.io:${base.port}`, "127.0.0.1", ""]) {
      const r = await raw(`/?token=${token}`, host ? { host, cookie } : { cookie });
      expect(r.status).toBe(host ? 403 : 400);
    }
  });

  test("a foreign Origin → 403, even with the cookie", async () => {
    const r = await raw("/api/snapshot", {
      host: `127.0.0.1:${base.port}`,
      cookie: `cnilab_ui_${base.port}=${token}`,
      origin: "http://evil.example",
    });
    expect(r.status).toBe(403);
    const cross = await raw("/api/snapshot", {
      host: `127.0.0.1:${base.port}`,
      cookie: `cnilab_ui_${base.port}=${token}`,
      "sec-fetch-site": "cross-site",
    });
    expect(cross.status).toBe(403);
  });

  test("a state change by GET → 405; by POST with only the cookie → 403", async () => {
    const host = `127.0.0.1:${base.port}`;
    const cookie = `cnilab_ui_${base.port}=${token}`;
    expect((await raw("/api/step?answer=run", { host, cookie })).status).toBe(405);
    const post = { method: "POST", body: JSON.stringify({ answer: "run" }) };
    expect((await raw("/api/step", { host, cookie }, post)).status).toBe(403);
    expect((await raw("/api/trace", { host, cookie }, post)).status).toBe(403);
  });

  test("no endpoint runs what it was sent: an answer outside run/repeat/quit is refused", async () => {
    const host = `127.0.0.1:${base.port}`;
    const marker = `/tmp/cnilab-ui-test-${process.pid}`;
    const r = await raw("/api/step", { host, "x-cnilab-token": token }, {
      method: "POST",
      body: JSON.stringify({ answer: `touch ${marker}`, argv: ["touch", marker] }),
    });
    expect(r.status).toBe(400);
    expect(await Bun.file(marker).exists()).toBe(false);
    // with no lab running, even a valid answer has nothing to drive
    const valid = await raw("/api/step", { host, "x-cnilab-token": token }, {
      method: "POST",
      body: JSON.stringify({ answer: "run" }),
    });
    expect(valid.status).toBe(409);
  });

  test("it listens on 127.0.0.1 only: another loopback address is refused", async () => {
    await expect(raw("/", { host: `127.0.0.2:${base.port}` }, { host: "127.0.0.2" })).rejects.toThrow(
      /ECONNREFUSED/,
    );
  });

  test("--listen takes an IP address only; --port a port", async () => {
    for (const args of [["--listen", "example.com"], ["--port", "http"], ["--port", "70000"], ["extra"]]) {
      const r = await cli(["ui", ...args]);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).not.toMatch(/^\s+at /m);
    }
  });
});
