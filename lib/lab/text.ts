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
 * Wraps help-like text: a line that is too long continues under its description column (the text after
 * a term and two or more spaces, as in `  --keep       leave the lab standing`), else under its own indent.
 */
export function wrapAligned(text: string, width: number): string {
  return text.split("\n").map((line) => {
    if (displayWidth(line) <= width) return line;
    const m = /^(\s*\S+(?: \S+)*?\s{2,})(?=\S)/.exec(line);
    if (m && displayWidth(m[1]) < width / 2) {
      return wrap(line.slice(m[1].length), width, m[1], " ".repeat(displayWidth(m[1])));
    }
    const lead = /^\s*/.exec(line)![0];
    return wrap(line.slice(lead.length), width, lead, lead + "  ");
  }).join("\n");
}
