/**
 * The UI's web server (Bun's built-in `Bun.serve`): one page, its script (bundled by `bun build` when the
 * server starts: ~40 ms, nothing from a CDN), a Server-Sent Events stream of snapshots, lab events and
 * traces, and two POST endpoints that change state — the step controller's answer and a trace to draw.
 * No endpoint runs a command it was sent: the only inputs are an answer from a fixed list and a trace to draw.
 * @module
 */
import { readFileSync } from "node:fs";
import type { CnilabEvent } from "../events/mod.ts";
import { REPO_ROOT } from "../util/mod.ts";
import { allowedHosts, check, newToken } from "./guard.ts";
import { parseTrace, type StepAnswer, type UiSnapshot, type UiTrace } from "./model.ts";

const PAGE_DIR = new URL("./page/", import.meta.url).pathname;
const ELK_WORKER = `${REPO_ROOT}/node_modules/elkjs/lib/elk-worker.min.js`;

/** The step the lab waits at (the page shows Next / Repeat / Quit while it does). */
export interface Waiting {
  index: number;
  total: number;
  title: string;
  /** The lab has finished: only Quit is left (it ends the server's process). */
  ended?: boolean;
}

/** Options for {@link startServer}. */
export interface ServerOptions {
  /** Address to listen on (default 127.0.0.1). */
  hostname?: string;
  /** Port (default 0: any free port). */
  port?: number;
  /** The step controller's answer from the page (POST /api/step). */
  onAnswer?: (answer: StepAnswer) => void;
}

/** A running server. */
export interface UiServer {
  /** The URL to open, with the token. */
  url: string;
  token: string;
  port: number;
  hostname: string;
  /** Pushes a new topology snapshot to every page. */
  snapshot(s: UiSnapshot): void;
  /** Pushes a lab event (and keeps it, so a page opened later replays the run). */
  lab(e: CnilabEvent): void;
  /** Shows (or hides, with undefined) the step buttons. */
  waiting(w: Waiting | undefined): void;
  /** Draws a trace. */
  trace(t: UiTrace): void;
  close(): void;
}

interface BunServer {
  port: number;
  stop(closeActiveConnections?: boolean): void;
}
interface BunApi {
  serve(opts: {
    hostname: string;
    port: number;
    idleTimeout: number;
    fetch(req: Request): Response | Promise<Response>;
  }): BunServer;
  build(opts: { entrypoints: string[]; target: string; minify: boolean }): Promise<{
    success: boolean;
    logs: unknown[];
    outputs: { text(): Promise<string> }[];
  }>;
}

function bun(): BunApi {
  const api = (globalThis as unknown as { Bun?: BunApi }).Bun;
  if (!api) throw new Error("the UI server runs under Bun (Bun.serve): run it without CNILAB_RUNTIME=deno");
  return api;
}

/** Bundles the page's script with `bun build` (cytoscape and elkjs's API from node_modules). */
export async function buildPage(): Promise<string> {
  const out = await bun().build({ entrypoints: [`${PAGE_DIR}main.ts`], target: "browser", minify: true });
  if (!out.success) throw new Error(`bun build of the page failed: ${String(out.logs[0])}`);
  return await out.outputs[0].text();
}

const SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'self'; script-src 'self'; worker-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
};

function respond(body: BodyInit | null, status: number, type: string, extra: Record<string, string> = {}) {
  return new Response(body, { status, headers: { "content-type": type, ...SECURITY_HEADERS, ...extra } });
}

/** Starts the server. */
export async function startServer(opts: ServerOptions = {}): Promise<UiServer> {
  const api = bun();
  const hostname = opts.hostname ?? "127.0.0.1";
  const token = newToken();
  const script = await buildPage();
  const css = readFileSync(`${PAGE_DIR}style.css`, "utf8");
  const elkWorker = readFileSync(ELK_WORKER, "utf8");
  const html = readFileSync(`${PAGE_DIR}index.html`, "utf8").replace("%TOKEN%", token);

  const clients = new Set<ReadableStreamDefaultController<Uint8Array>>();
  const encoder = new TextEncoder();
  let latest: UiSnapshot | undefined;
  let labEvents: CnilabEvent[] = [];
  let waitingAt: Waiting | undefined;
  let lastTrace: UiTrace | undefined;
  const frame = (type: string, data: unknown) =>
    encoder.encode(`event: ${type}\ndata: ${JSON.stringify(data)}\n\n`);
  const send = (type: string, data: unknown) => {
    const bytes = frame(type, data);
    for (const c of clients) {
      try {
        c.enqueue(bytes);
      } catch {
        clients.delete(c);
      }
    }
  };
  const heartbeat = setInterval(() => {
    for (const c of clients) {
      try {
        c.enqueue(encoder.encode(": keep-alive\n\n"));
      } catch {
        clients.delete(c);
      }
    }
  }, 15000);

  let port = 0;
  let cookie = "";
  const guard = () => ({ token, hosts: allowedHosts(hostname, port), cookie });

  const events = () => {
    let me: ReadableStreamDefaultController<Uint8Array> | undefined;
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        me = controller;
        clients.add(controller);
        controller.enqueue(encoder.encode("retry: 500\n\n"));
        if (latest) controller.enqueue(frame("snapshot", latest));
        controller.enqueue(frame("replay", labEvents));
        controller.enqueue(frame("waiting", waitingAt ?? null));
        if (lastTrace) controller.enqueue(frame("trace", lastTrace));
      },
      cancel() {
        if (me) clients.delete(me);
      },
    });
    return new Response(stream, {
      headers: { "content-type": "text/event-stream", "cache-control": "no-store", connection: "keep-alive" },
    });
  };

  const handle = async (req: Request): Promise<Response> => {
    const verdict = check(req, guard());
    if (!verdict.ok) return respond(`${verdict.status}: ${verdict.reason}\n`, verdict.status, "text/plain");
    const url = new URL(req.url);
    if (verdict.firstVisit) {
      // the token leaves the address bar (it is on a projector): the cookie carries it from now on
      const params = new URLSearchParams(url.search);
      params.delete("token");
      const rest = params.toString();
      return respond(null, 303, "text/plain", {
        location: `${url.pathname}${rest ? `?${rest}` : ""}`,
        "set-cookie": `${cookie}=${token}; Path=/; HttpOnly; SameSite=Strict`,
      });
    }
    switch (url.pathname) {
      case "/":
        return respond(html, 200, "text/html; charset=utf-8");
      case "/app.js":
        return respond(script, 200, "text/javascript; charset=utf-8");
      case "/elk-worker.js":
        return respond(elkWorker, 200, "text/javascript; charset=utf-8");
      case "/app.css":
        return respond(css, 200, "text/css; charset=utf-8");
      case "/favicon.ico":
        return respond(null, 204, "image/x-icon");
      case "/events":
        return events();
      case "/api/snapshot":
        return respond(JSON.stringify(latest ?? null), 200, "application/json");
      case "/api/step": {
        const body = await req.json().catch(() => ({})) as { answer?: unknown };
        const answer = body.answer;
        if (answer !== "run" && answer !== "repeat" && answer !== "quit") {
          return respond(`400: answer is one of run, repeat, quit\n`, 400, "text/plain");
        }
        if (!opts.onAnswer) return respond("409: no lab is running here\n", 409, "text/plain");
        if ((!waitingAt || waitingAt.ended) && answer !== "quit") {
          return respond("409: the lab is not waiting\n", 409, "text/plain");
        }
        waitingAt = undefined;
        send("waiting", null);
        opts.onAnswer(answer);
        return respond(JSON.stringify({ ok: true, answer }), 200, "application/json");
      }
      case "/api/trace": {
        let t: UiTrace;
        try {
          t = parseTrace(await req.json());
        } catch (e) {
          return respond(`400: ${e instanceof Error ? e.message : String(e)}\n`, 400, "text/plain");
        }
        server.trace(t);
        return respond(JSON.stringify({ ok: true, hops: t.hops.length }), 200, "application/json");
      }
      default:
        return respond("404: not found\n", 404, "text/plain");
    }
  };

  const bunServer = api.serve({ hostname, port: opts.port ?? 0, idleTimeout: 0, fetch: handle });
  port = bunServer.port;
  cookie = `cnilab_ui_${port}`;
  const shownHost = hostname.includes(":") ? `[${hostname}]` : hostname;
  const server: UiServer = {
    url: `http://${shownHost}:${port}/?token=${token}`,
    token,
    port,
    hostname,
    snapshot(s) {
      latest = s;
      send("snapshot", s);
    },
    lab(e) {
      if (e.type === "lab:start") labEvents = [];
      labEvents.push(e);
      send("lab", e);
    },
    waiting(w) {
      waitingAt = w;
      send("waiting", w ?? null);
    },
    trace(t) {
      lastTrace = t;
      send("trace", t);
    },
    close() {
      clearInterval(heartbeat);
      for (const c of clients) {
        try {
          c.close();
        } catch {
          // already closed by the page
        }
      }
      clients.clear();
      bunServer.stop(true);
    },
  };
  return server;
}
