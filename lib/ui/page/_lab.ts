/// <reference lib="dom" />
/**
 * The running lab on the page: its steps, the commands each ran, the checks, and the step buttons
 * (Next / Repeat / Quit, a POST with the token).
 * @module
 */
import type { CnilabEvent } from "../../events/mod.ts";
import type { StepAnswer } from "../model.ts";
import { $, el, token } from "./_dom.ts";

export function sh(argv: string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`)).join(" ");
}

export const commandItems = new Map<number, HTMLLIElement>();
let staleLog = false;
/** The step introduced last: the log below is its own from its first command on. */
let introduced = "";

export function clearStale(): void {
  if (!staleLog) return;
  staleLog = false;
  $("commands").replaceChildren();
  $("checks").replaceChildren();
  commandItems.clear();
  // in step mode the next step is introduced as soon as this one ends: the log says whose it is
  $("log-step").textContent = `What ${introduced} did:`;
}

export function onLab(e: CnilabEvent): void {
  const lab = $("lab");
  lab.hidden = false;
  switch (e.type) {
    case "lab:start":
      $("lab-title").textContent = `Lab ${e.section} · ${e.title}  (run ${e.runId.slice(0, 8)})`;
      $("verdict").textContent = "";
      $("verdict").className = "";
      break;
    case "step:start":
      $("step-title").textContent = `Step ${e.index + 1} · ${e.title}`;
      $("step-mirrors").textContent = e.mirrors;
      $("step-narration").textContent = e.narration;
      introduced = `Step ${e.index + 1} · ${e.title}`;
      // in step mode the step is introduced before it runs: the last step's commands and checks stay on
      // the screen until this one's first command
      staleLog = true;
      break;
    case "step:repeat":
      $("commands").append(el("li", `step ${e.index + 1} shown again: ${e.title}`, { class: "note" }));
      break;
    case "command:start": {
      clearStale();
      const li = el("li", `$ ${sh(e.argv)}`, { class: e.purpose });
      if (e.stdin && e.argv.includes("-batch")) li.append(el("pre", e.stdin.trimEnd()));
      commandItems.set(e.id, li);
      $("commands").append(li);
      li.scrollIntoView({ block: "nearest" });
      break;
    }
    case "command:end": {
      const li = commandItems.get(e.id);
      if (!li) break;
      if (e.code !== 0 && e.purpose !== "read") {
        li.classList.add("failed");
        li.append(
          el("pre", `exit ${e.code}: ${(e.stderr || e.stdout).trim().split("\n").slice(-2).join(" / ")}`),
        );
      } else if (e.purpose === "show" && e.stdout.trim()) {
        li.append(el("pre", e.stdout.trimEnd()));
      }
      break;
    }
    case "check": {
      clearStale();
      const li = el("li", e.name, { class: e.ok ? "ok" : "bad" });
      if (!e.ok) {
        li.append(
          el("span", `expected ${JSON.stringify(e.expected)}, got ${JSON.stringify(e.actual)}`, {
            class: "why",
          }),
        );
      }
      $("checks").append(li);
      break;
    }
    case "note":
      clearStale();
      $("commands").append(el("li", e.text, { class: "note" }));
      break;
    case "step:end":
      if (e.error) $("checks").append(el("li", `step failed: ${e.error}`, { class: "bad" }));
      break;
    case "teardown":
      if (e.phase === "start") {
        $("step-title").textContent = "Teardown";
        $("step-mirrors").textContent = e.reason;
        $("step-narration").textContent = "Everything the run recorded is removed, then checked to be gone.";
        $("commands").replaceChildren();
        $("checks").replaceChildren();
        $("log-step").textContent = "What the teardown did:";
        staleLog = false;
      }
      break;
    case "lab:end": {
      const v = $("verdict");
      v.textContent = `${e.ok ? "✓ passed" : "✗ failed"}${
        e.kept ? " (kept standing)" : ""
      }: ${e.passed} checks passed, ${e.failed} failed`;
      v.className = e.ok ? "ok" : "bad";
      break;
    }
  }
}

export interface Waiting {
  index: number;
  total: number;
  title: string;
  ended?: boolean;
}

export function onWaiting(w: Waiting | null): void {
  const buttons = ["btn-next", "btn-repeat", "btn-quit"].map((id) => $<HTMLButtonElement>(id));
  for (const b of buttons) b.disabled = w === null;
  const prompt = $("step-prompt");
  if (w === null) prompt.textContent = "";
  else if (w.ended) {
    buttons[0].disabled = true;
    buttons[1].disabled = true;
    prompt.textContent = "The lab has finished: Quit ends the server.";
  } else {
    $("lab").hidden = false;
    prompt.textContent = `Next: step ${w.index + 1} of ${w.total} · ${w.title}`;
  }
}

for (const id of ["btn-next", "btn-repeat", "btn-quit"]) {
  $(id).addEventListener("click", async (ev) => {
    const answer = (ev.currentTarget as HTMLElement).dataset.answer as StepAnswer;
    onWaiting(null);
    await fetch("/api/step", {
      method: "POST",
      headers: { "content-type": "application/json", "x-cnilab-token": token },
      body: JSON.stringify({ answer }),
    });
  });
}
