// Plain-text tables for the terminal: aligned columns, control characters made visible.

/** Control characters shown as \xNN, so stored text (a name, an email typed at login) cannot drive the terminal. */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

/** Prints `header` and `rows` as left-aligned columns two spaces apart. */
export function printTable(header: string[], rows: string[][], print: (line: string) => void): void {
  const all = [header, ...rows.map((row) => row.map(printable))];
  const widths = header.map((_, column) => Math.max(...all.map((row) => (row[column] ?? "").length)));
  for (const row of all) print(row.map((cell, column) => cell.padEnd(widths[column]!)).join("  ").trimEnd());
}
