/**
 * Tables the way kubectl prints them (upper-case head, columns three spaces apart, no borders), fitted to
 * the terminal: the columns that do not fit are dropped from the right, and the column named `flex`
 * is word-wrapped into what is left.
 * @module
 */
import { displayWidth, padEnd, terminalWidth, wrap } from "../text/mod.ts";

/** Options for {@link table}. */
export interface TableOptions {
  /** Default: the terminal's width. */
  width?: number;
  /** The column that wraps to fill the remaining width (default: the last). */
  flex?: number;
  /** Space between columns (default 3, as kubectl). */
  gap?: number;
  /** The flexible column keeps at least this many columns, or columns are dropped (default 12). */
  minFlex?: number;
}

/** Renders rows under a head as fitted text. */
export function table(head: string[], rows: string[][], opts: TableOptions = {}): string {
  const width = opts.width ?? terminalWidth();
  const gap = opts.gap ?? 3;
  let cols = head.length;
  const widthOf = (i: number) =>
    Math.max(displayWidth(head[i]), ...rows.map((r) => displayWidth(r[i] ?? "")));
  const flex = Math.min(opts.flex ?? head.length - 1, head.length - 1);
  const natural = head.map((_, i) => widthOf(i));
  const used = (n: number, except = -1) =>
    natural.slice(0, n).reduce((s, w, i) => s + (i === except ? 0 : w), 0) + gap * (n - 1);
  // drop columns from the right until the rest fits (with room for the flexible one to wrap into)
  const minFlex = opts.minFlex ?? 12;
  const fits = (n: number) => used(n, flex) + (flex < n ? minFlex : 0) <= width;
  while (cols > 1 && !fits(cols)) cols--;
  const widths = natural.slice(0, cols);
  if (flex < cols) widths[flex] = Math.max(8, Math.min(natural[flex], width - used(cols, flex)));
  const out: string[] = [];
  for (const row of [head, ...rows]) {
    const cells = widths.map((w, i) => wrap(row[i] ?? "", w).split("\n"));
    const height = Math.max(...cells.map((c) => c.length));
    for (let line = 0; line < height; line++) {
      out.push(
        cells.map((c, i) => (i === cols - 1 ? c[line] ?? "" : padEnd(c[line] ?? "", widths[i]))).join(
          " ".repeat(gap),
        ).trimEnd(),
      );
    }
  }
  return out.join("\n");
}
