// Export: every account that matches the filters, in the order shown, as a CSV file made in the page.
import { ApiError, ignoreSessionEnded, type PublicUser } from "./api.ts";
import { refreshAccounts } from "./accounts.ts";
import { byId, h, setMessage } from "./dom.ts";
import { plainWords } from "./messages.ts";
import { flash } from "./toast.ts";

const CSV_COLUMNS: Array<[string, (account: PublicUser) => string]> = [
  ["id", (account) => String(account.id)],
  ["name", (account) => account.name],
  ["email", (account) => account.email],
  ["role", (account) => account.role],
  ["status", (account) => (account.is_active ? "active" : "inactive")],
  ["last_signed_in", (account) => account.last_login_at ?? ""],
  ["created", (account) => account.created_at],
];

/**
 * One CSV cell (RFC 4180). A cell that a spreadsheet would run as a formula (= + - @, or a tab or carriage
 * return before one) gets a leading apostrophe: a name typed as =HYPERLINK(...) stays text (OWASP "CSV injection").
 */
function csvCell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]|^\s|\s$/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

function accountsCsv(list: PublicUser[]): string {
  const lines = [CSV_COLUMNS.map(([name]) => name), ...list.map((account) => CSV_COLUMNS.map(([, value]) => value(account)))];
  return lines.map((cells) => cells.map(csvCell).join(",")).join("\r\n") + "\r\n";
}

export function setupCsvExport(): void {
  byId<HTMLButtonElement>("export-csv").addEventListener("click", async () => {
    const button = byId<HTMLButtonElement>("export-csv");
    button.setAttribute("aria-busy", "true");
    try {
      // Fresh from the API, so the file is what the server holds now, not what this page loaded earlier.
      const accounts = await refreshAccounts();
      // The byte order mark lets spreadsheet programs read the names as UTF-8.
      const blob = new Blob(["\uFEFF", accountsCsv(accounts)], { type: "text/csv;charset=utf-8" });
      const href = URL.createObjectURL(blob);
      const link = h("a", { attrs: { href, download: `moxie-accounts-${new Date().toISOString().slice(0, 10)}.csv` } });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(href), 60_000);
      flash(`Exported ${accounts.length} ${accounts.length === 1 ? "account" : "accounts"} as CSV.`);
    } catch (error) {
      if (error instanceof ApiError) setMessage(byId("accounts-error"), plainWords(error.detail));
      else ignoreSessionEnded(error);
    } finally {
      button.removeAttribute("aria-busy");
    }
  });
}
