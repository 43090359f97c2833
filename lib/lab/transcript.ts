/**
 * The transcript view: a Markdown handout of a lab run — narration, every command with its output, each
 * check with its result, step timings, a Mermaid diagram of the topology at its fullest, and what the caller
 * appends (`cnilab run` appends the errata sheet, lib/errata).
 * @module
 */
import { type CnilabEvent, subscribe } from "../events/mod.ts";
import { renderMermaid, type Topology } from "../topology/mod.ts";
import { shellQuote } from "./views.ts";

function fence(text: string, lang = ""): string {
  const body = text.replace(/\n$/, "");
  const ticks = body.includes("```") ? "````" : "```";
  return `${ticks}${lang}\n${body}\n${ticks}`;
}

function show(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

/**
 * Prose for Markdown: placeholders like <uuid> or <pid> outside code spans become code spans (raw, a
 * Markdown renderer would take them for HTML tags and drop them).
 */
export function prose(text: string): string {
  return text.split(/(`[^`]*`)/).map((part, i) =>
    i % 2 === 1 ? part : part.replace(/<([A-Za-z][\w./:-]*)>/g, "`<$1>`")
  ).join("");
}

/** A name Mermaid accepts as a participant id. */
function participantId(name: string): string {
  return name.replace(/[^A-Za-z0-9_]/g, "_");
}

/** A recorded call sequence as a Mermaid sequenceDiagram. */
export function renderSequence(
  participants: string[],
  messages: { from: string; to: string; text: string; reply?: boolean }[],
): string {
  const clean = (s: string) => s.replace(/[;#\n]/g, " ");
  return [
    "sequenceDiagram",
    ...participants.map((p) => `  participant ${participantId(p)} as ${clean(p)}`),
    ...messages.map((m) =>
      `  ${participantId(m.from)}${m.reply ? "-->>" : "->>"}${participantId(m.to)}: ${clean(m.text)}`
    ),
  ].join("\n");
}

function size(t: Topology): number {
  const links = [...t.host.links, ...t.namespaces.flatMap((n) => n.links)];
  return links.length + links.reduce((n, l) => n + l.addresses.length, 0) +
    t.namespaces.reduce((n, ns) => n + 1 + ns.routes.length, 0);
}

/** Collects a lab run into Markdown. */
export class Transcript {
  private parts: string[] = [];
  private fullest: { topology: Topology; after: string } | undefined;
  private stopListening: () => void;
  private stepTitle = "";
  private timings: { step: string; ms: number; ok: boolean }[] = [];
  /** The run this transcript records (from its lab:start): views scope their reads to it. */
  runId = "";

  constructor() {
    this.stopListening = subscribe((e) => this.on(e));
  }

  /** Offers the topology read after a step; the largest one is drawn in the handout. */
  offer(topology: Topology): void {
    if (!this.fullest || size(topology) >= size(this.fullest.topology)) {
      this.fullest = { topology, after: this.stepTitle };
    }
  }

  /** The run id whose objects the transcript's diagrams draw. */
  ownedBy(): string {
    return this.runId;
  }

  /** Stops listening and returns the Markdown; `appendix` (Markdown) ends it. */
  finish(appendix = ""): string {
    this.stopListening();
    const timing = [
      "## Step timings",
      "",
      "| step | result | duration |",
      "| --- | --- | ---: |",
      ...this.timings.map((t) => `| ${t.step} | ${t.ok ? "✓" : "✗"} | ${t.ms.toFixed(1)} ms |`),
    ].join("\n");
    const diagram = this.fullest
      ? `## The topology at its fullest\n\nRead from the kernel after step "${this.fullest.after}":\n\n${
        fence(renderMermaid(this.fullest.topology), "mermaid")
      }`
      : "";
    return [...this.parts, timing, diagram, appendix.trimEnd()].filter(Boolean).join("\n\n") + "\n";
  }

  private on(e: CnilabEvent): void {
    switch (e.type) {
      case "lab:start":
        this.runId = e.runId;
        this.parts.push(`# ${e.section} ${e.title}\n\nA cnilab transcript (run \`${e.runId}\`).`);
        break;
      case "step:start":
        this.stepTitle = `${e.index + 1}. ${e.title}`;
        this.parts.push(
          `## Step ${this.stepTitle}\n\n*Mirrors: ${prose(e.mirrors)}*\n\n${prose(e.narration)}`,
        );
        break;
      case "warning":
        this.parts.push(`> warning: ${prose(e.message)}`);
        break;
      case "file":
        this.parts.push(fence(
          [
            `$ ${e.command}`,
            ...(e.heredoc ? [e.content.replace(/\n$/, ""), "EOF"] : []),
            ...(e.after ?? []).map((cmd) => `$ ${cmd}`),
          ].join("\n"),
          "console",
        ));
        break;
      case "sequence":
        this.parts.push(
          `${prose(e.title)}:\n\n${fence(renderSequence(e.participants, e.messages), "mermaid")}`,
        );
        break;
      case "command:end": {
        // the reads behind checks are summed up by the checks themselves
        if (e.purpose === "read") break;
        const batch = e.stdin && e.argv.includes("-batch");
        const cmd = `$ ${shellQuote(e.argv)}${batch ? ` <<EOF\n${e.stdin!.trimEnd()}\nEOF` : ""}`;
        const output = (e.stdout + e.stderr).trim();
        const exit = e.code !== 0 ? `\n# exit ${e.code}` : "";
        this.parts.push(fence(`${cmd}${output ? `\n${output}` : ""}${exit}`, "console"));
        break;
      }
      case "check": {
        const line = e.ok
          ? `- ✓ ${prose(e.name)}`
          : `- ✗ ${prose(e.name)} — expected \`${show(e.expected)}\`, actual \`${show(e.actual)}\``;
        // consecutive checks form one list
        const last = this.parts.length - 1;
        if (this.parts[last]?.startsWith("- ")) this.parts[last] += `\n${line}`;
        else this.parts.push(line);
        break;
      }
      case "note":
        this.parts.push(fence(e.text));
        break;
      case "step:end":
        this.timings.push({ step: this.stepTitle, ms: e.durationMs, ok: e.ok });
        if (e.error) this.parts.push(`**Step failed:** ${prose(e.error)}`);
        break;
      case "teardown":
        if (e.phase === "start") {
          this.stepTitle = "teardown";
          this.parts.push(`## Teardown\n\n(${prose(e.reason)})`);
        } else {this.parts.push(`Removed: ${
            e.removed?.length
              ? e.removed.map((r) => `\`${r}\``).join(", ")
              : "nothing was left"
          }.`);}
        break;
      case "lab:end":
        if (e.interrupted) {
          this.parts.push(
            `**Interrupted** at step ${e.interrupted.step} of ${e.interrupted.of} (${e.interrupted.reason}); ${
              e.teardownVerified ? "teardown verified" : "teardown left objects behind"
            }.`,
          );
          break;
        }
        this.parts.push(
          `**${e.ok ? "Passed" : "Failed"}**: ${e.passed} checks passed, ${e.failed} failed in ${
            (e.durationMs / 1000).toFixed(2)
          } s.`,
        );
        break;
    }
  }
}
