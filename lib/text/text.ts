/**
 * Text that fits the terminal: its width (COLUMNS, then the tty, 80 when unknown), display width of a
 * string (wide glyphs count 2, colours 0) and word wrapping with an indent.
 * @module
 */
import process from "node:process";
import stringWidth from "string-width";

/** The width every view assumes when the terminal does not say. */
export const DEFAULT_WIDTH = 80;

/** The terminal's width in columns: COLUMNS, then the tty of stdout or stderr, else 80. */
export function terminalWidth(): number {
  const env = Number(process.env.COLUMNS);
  if (Number.isInteger(env) && env > 0) return env;
  for (const stream of [process.stdout, process.stderr]) {
    const cols = (stream as { isTTY?: boolean; columns?: number }).isTTY
      ? (stream as { columns?: number }).columns
      : undefined;
    if (cols && cols > 0) return cols;
  }
  return DEFAULT_WIDTH;
}

/** Columns a string takes on a terminal (ANSI colours take none). */
export function displayWidth(s: string): number {
  return stringWidth(s);
}

/** Removes ANSI colour codes. */
export function stripAnsi(s: string): string {
  // deno-lint-ignore no-control-regex
  return s.replace(/\x1b\[[0-9;]*m/g, "");
}

/** Pads to a display width. */
export function padEnd(s: string, width: number): string {
  return s + " ".repeat(Math.max(0, width - displayWidth(s)));
}

/** Cuts to a display width, ending in "…" when something was cut. */
export function truncate(s: string, width: number): string {
  if (displayWidth(s) <= width) return s;
  let out = "";
  for (const ch of s) {
    if (displayWidth(out + ch) > width - 1) break;
    out += ch;
  }
  return out + "…";
}

/**
 * Word-wraps text to `width` columns; every line starts with `indent` (continuation lines with
 * `hangingIndent`, default the same). A word longer than a line is broken, never cut off.
 */
export function wrap(text: string, width: number, indent = "", hangingIndent = indent): string {
  const out: string[] = [];
  let first = true;
  for (const paragraph of text.replace(/\n$/, "").split("\n")) {
    // a line that fits is kept as it is (aligned columns, a box); only a longer one is wrapped
    const own = first ? indent : hangingIndent;
    first = false;
    if (displayWidth(own + paragraph) <= width) {
      out.push((own + paragraph).trimEnd());
      continue;
    }
    // keep a line's own leading spaces (aligned output) on top of the indent
    const lead = /^\s*/.exec(paragraph)![0];
    const words = paragraph.slice(lead.length).split(/ +/).filter(Boolean);
    let prefix = own + lead;
    let line = prefix;
    let empty = true;
    const flush = () => {
      out.push(line.trimEnd());
      prefix = hangingIndent + lead;
      line = prefix;
      empty = true;
    };
    if (words.length === 0) {
      out.push("");
      continue;
    }
    for (let word of words) {
      const sep = empty ? "" : " ";
      if (displayWidth(line + sep + word) <= width) {
        line += sep + word;
        empty = false;
        continue;
      }
      if (!empty) flush();
      // a word wider than the line: break it at the width
      while (displayWidth(prefix + word) > width && width - displayWidth(prefix) > 8) {
        let piece = "";
        for (const ch of word) {
          if (displayWidth(prefix + piece + ch) > width) break;
          piece += ch;
        }
        // break after a "/" or "-" when there is one in the second half: "default/" + "web-0"
        const soft = Math.max(piece.lastIndexOf("/"), piece.lastIndexOf("-"));
        if (soft >= piece.length / 2 && soft < piece.length - 1) piece = piece.slice(0, soft + 1);
        line = prefix + piece;
        flush();
        word = word.slice(piece.length);
      }
      line += word;
      empty = false;
    }
    if (!empty) flush();
  }
  return out.join("\n");
}

/**
 * Wraps help-like text to `width`. A line that fits stays as it is. A too-long line that has a term and a
 * description (`  --keep       leave the lab standing`) continues under its description column; a
 * too-long line of prose is re-flowed with the prose lines around it (same indent), as one paragraph.
 */
export function wrapAligned(text: string, width: number): string {
  const lines = text.split("\n");
  const term = (line: string) => /^(\s*\S+(?: \S+)*?\s{2,})(?=\S)/.exec(line);
  const lead = (line: string) => /^\s*/.exec(line)![0];
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (displayWidth(line) <= width) {
      out.push(line);
      continue;
    }
    const m = term(line);
    if (m && displayWidth(m[1]) < width / 2) {
      // the description's own continuation lines (aligned under it) belong to the same paragraph
      let body = line.slice(m[1].length);
      const pad = " ".repeat(displayWidth(m[1]));
      while (
        i + 1 < lines.length && lines[i + 1].startsWith(pad) && lines[i + 1].trim() &&
        !term(lines[i + 1].slice(pad.length))
      ) {
        body += " " + lines[++i].trim();
      }
      out.push(wrap(body, width, m[1], pad));
      continue;
    }
    // a synopsis continues under its first option: "usage: cnilab run <lab> [--keep]…"
    const synopsis = /^(\s*(?:usage: )?cnilab [^[<(]*)[[<(]/.exec(line);
    if (synopsis && displayWidth(synopsis[1]) < width / 2) {
      out.push(
        wrap(line.slice(synopsis[1].length), width, synopsis[1], " ".repeat(displayWidth(synopsis[1]))),
      );
      continue;
    }
    // prose: this line and the following ones with the same indent, up to a blank or a term line
    const own = lead(line);
    let body = line.trim();
    while (
      i + 1 < lines.length && lines[i + 1].trim() && lead(lines[i + 1]) === own && !term(lines[i + 1])
    ) body += " " + lines[++i].trim();
    out.push(wrap(body, width, own, own));
  }
  return out.join("\n");
}
