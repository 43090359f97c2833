/**
 * Plain text that fits the terminal: its width (COLUMNS, then the tty, 80 when unknown), word wrapping with
 * a hanging indent, and a table that picks its columns by width (the least needed go first; one column may
 * wrap instead). A small helper of the exercise commands' own, until the CLI has a shared one.
 * @module
 */
import process from "node:process";

/** The terminal's width: `COLUMNS`, else the tty's, else 80. */
export function terminalWidth(): number {
  const env = Number(process.env.COLUMNS);
  if (Number.isInteger(env) && env > 0) return env;
  const tty = process.stdout.isTTY ? process.stdout.columns : undefined;
  return tty && tty > 0 ? tty : 80;
}

/** Splits text into lines of at most `width` characters, at spaces where it can. */
export function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  const w = Math.max(8, width);
  for (const para of text.split("\n")) {
    let line = "";
    for (let word of para.split(" ")) {
      while (word.length > w) {
        if (line) {
          out.push(line);
          line = "";
        }
        out.push(word.slice(0, w));
        word = word.slice(w);
      }
      if (!line) line = word;
      else if (line.length + 1 + word.length <= w) line += ` ${word}`;
      else {
        out.push(line);
        line = word;
      }
    }
    out.push(line);
  }
  return out;
}

/** Text wrapped to `width`: the first line after `first`, the others after `rest` (a hanging indent). */
export function indent(text: string, width: number, first: string, rest = " ".repeat(first.length)): string {
  const lines = wrap(text, width - Math.max(first.length, rest.length));
  return lines.map((l, i) => (i === 0 ? first : rest) + l).join("\n");
}

/**
 * Markdown-ish text (a hint) reflowed for the terminal: the lines of a paragraph are joined and wrapped to
 * `width`; fenced code blocks and indented lines stay as written.
 */
export function reflow(text: string, width: number): string {
  const out: string[] = [];
  let para: string[] = [];
  let fenced = false;
  const flush = () => {
    if (para.length) out.push(...wrap(para.join(" "), width));
    para = [];
  };
  for (const line of text.split("\n")) {
    if (line.trimStart().startsWith("```")) {
      flush();
      fenced = !fenced;
      out.push(line);
    } else if (fenced || /^\s/.test(line) || /^\s*([-*]|\d+\.)\s/.test(line)) {
      if (!fenced && /^\s*([-*]|\d+\.)\s/.test(line)) {
        flush();
        para = [line];
      } else {
        flush();
        out.push(line);
      }
    } else if (line.trim() === "") {
      flush();
      out.push("");
    } else para.push(line);
  }
  flush();
  return out.join("\n");
}

/** A column of {@link renderTable}. */
export interface Column<T> {
  header: string;
  value(row: T): string;
  /** Dropped before columns with a lower number when the table is too wide; 0 (the default) never. */
  drop?: number;
  /** This column wraps (instead of widening the table) down to `min` characters. */
  wrap?: boolean;
  /** Narrowest a wrapping column gets (default 16). */
  min?: number;
  align?: "left" | "right";
}

const GAP = "  ";

/** Rows under a header, columns picked so that each line is at most `width` characters. */
export function renderTable<T>(rows: T[], columns: Column<T>[], width = terminalWidth()): string {
  let cols = [...columns];
  const natural = (c: Column<T>) => Math.max(c.header.length, ...rows.map((r) => c.value(r).length));
  const fit = (): number[] | undefined => {
    const widths = cols.map(natural);
    const total = () => widths.reduce((a, b) => a + b, 0) + GAP.length * (widths.length - 1);
    // narrow the wrapping columns, the widest first, down to their minimum
    while (total() > width) {
      let widest = -1;
      cols.forEach((c, i) => {
        if (c.wrap && widths[i] > (c.min ?? 16) && (widest < 0 || widths[i] > widths[widest])) widest = i;
      });
      if (widest < 0) break;
      widths[widest]--;
    }
    return total() <= width ? widths : undefined;
  };
  let widths = fit();
  while (!widths) {
    const droppable = cols.filter((c) => (c.drop ?? 0) > 0);
    if (droppable.length === 0) break;
    const worst = droppable.reduce((a, b) => ((b.drop ?? 0) > (a.drop ?? 0) ? b : a));
    cols = cols.filter((c) => c !== worst);
    widths = fit();
  }
  // nothing left to drop: cut the widest cells
  widths ??= cols.map((c) => Math.min(natural(c), Math.max(4, Math.floor(width / cols.length) - GAP.length)));
  const cut = (text: string, w: number) => (text.length <= w ? text : `${text.slice(0, w - 1)}…`);
  const pad = (
    text: string,
    w: number,
    c: Column<T>,
  ) => (c.align === "right" ? text.padStart(w) : text.padEnd(w));
  const line = (cells: string[][]) => {
    const height = Math.max(...cells.map((c) => c.length));
    const out: string[] = [];
    for (let i = 0; i < height; i++) {
      out.push(cells.map((c, j) => pad(c[i] ?? "", widths![j], cols[j])).join(GAP).trimEnd());
    }
    return out;
  };
  const cellsOf = (texts: string[]) =>
    texts.map((t, j) => (cols[j].wrap ? wrap(t, widths![j]) : [cut(t, widths![j])]));
  return [
    ...line(cellsOf(cols.map((c) => c.header))),
    ...rows.flatMap((r) => line(cellsOf(cols.map((c) => c.value(r))))),
  ].join("\n");
}
