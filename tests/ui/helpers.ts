/**
 * Helpers of the browser tests: Debian's chromium driven by playwright-core (its own browser downloads do
 * not work offline), and `cnilab ui` / `cnilab run --ui` started as a user starts them.
 */
import type { Browser } from "playwright-core";
import { launchBrowser as launch } from "../../lib/ui/browser.ts";
import { CNILAB } from "../helpers.ts";

/** Starts a headless chromium (lib/ui/browser.ts), one per test file. */
export function launchBrowser(): Promise<Browser> {
  // a foreign name that resolves to 127.0.0.1, as a DNS rebinding attack makes it
  return launch(["--host-resolver-rules=MAP rebind.test 127.0.0.1"]);
}

/** A cnilab process with a UI: its URL (with the token), its output so far, and how to stop it. */
export interface UiProcess {
  url: string;
  proc: Bun.Subprocess<"pipe", "pipe", "pipe">;
  output(): string;
  stop(): Promise<number>;
}

/** Runs `cnilab <args>` and waits for the page's URL on its stdout or stderr. */
export async function startCnilab(args: string[], env: Record<string, string> = {}): Promise<UiProcess> {
  const proc = Bun.spawn([CNILAB, ...args], {
    env: { ...process.env, NO_COLOR: "1", ...env },
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
  });
  let text = "";
  let found: (url: string) => void = () => {};
  const url = new Promise<string>((resolve) => (found = resolve));
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      text += decoder.decode(chunk, { stream: true });
      const m = text.match(/http:\/\/[^\s]+\?token=[0-9a-f]+/);
      if (m) found(m[0]);
    }
  };
  void pump(proc.stdout);
  void pump(proc.stderr);
  const timeout = new Promise<string>((_, reject) =>
    setTimeout(() => reject(new Error(`no URL from cnilab ${args.join(" ")}:\n${text}`)), 30000)
  );
  const exited = proc.exited.then((code) => {
    throw new Error(`cnilab ${args.join(" ")} exited ${code} before printing a URL:\n${text}`);
  });
  return {
    url: await Promise.race([url, timeout, exited]),
    proc,
    output: () => text,
    async stop() {
      if (proc.exitCode === null) proc.kill("SIGINT");
      return await proc.exited;
    },
  };
}
