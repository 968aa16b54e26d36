// A readable name for the device behind a User-Agent ("Firefox on Windows", "Chrome on Android", "curl"), from a
// small fixed vocabulary: whatever a client sends, the label is one of these words, never its text.

/** The User-Agent kept with a session is cut to this many characters: a header can be kilobytes of anything. */
export const USER_AGENT_MAX_LENGTH = 512;

export const UNKNOWN_DEVICE = "Unknown device";

/** Command-line and library clients, by the product token they start with; checked before browsers. */
const TOOLS: Array<[prefix: string, label: string]> = [
  ["curl/", "curl"],
  ["wget/", "Wget"],
  ["httpie/", "HTTPie"],
  ["postmanruntime/", "Postman"],
  ["insomnia/", "Insomnia"],
  ["python-requests/", "Python"],
  ["python-urllib/", "Python"],
  ["python-httpx/", "Python"],
  ["aiohttp/", "Python"],
  ["go-http-client/", "Go"],
  ["node", "Node.js"],
  ["undici", "Node.js"],
  ["bun/", "Bun"],
  ["okhttp/", "OkHttp"],
];

/**
 * Browsers, most specific first: Edge, Opera and Samsung Internet also say "Chrome" and "Safari"; Chrome says
 * "Safari"; every iOS browser is Safari underneath and names itself with its own token (CriOS, FxiOS, EdgiOS).
 */
const BROWSERS: Array<[tokens: string[], label: string]> = [
  [["edg/", "edga/", "edgios/", "edge/"], "Edge"],
  [["opr/", "opios/", "opera"], "Opera"],
  [["samsungbrowser/"], "Samsung Internet"],
  [["firefox/", "fxios/"], "Firefox"],
  [["chrome/", "crios/", "chromium/"], "Chrome"],
  [["safari/"], "Safari"],
];

/** Operating systems, most specific first: Android says "Linux", an iPhone says "like Mac OS X". */
const SYSTEMS: Array<[tokens: string[], label: string]> = [
  [["iphone", "ipod"], "iPhone"],
  [["ipad"], "iPad"],
  [["android"], "Android"],
  [["windows"], "Windows"],
  [["cros"], "ChromeOS"],
  [["macintosh", "mac os x"], "macOS"],
  [["linux", "x11"], "Linux"],
];

/** The User-Agent as a session keeps it: at most USER_AGENT_MAX_LENGTH characters, or null when none was sent. */
export function keptUserAgent(userAgent: string | null | undefined): string | null {
  if (userAgent === null || userAgent === undefined || userAgent.trim() === "") return null;
  return userAgent.slice(0, USER_AGENT_MAX_LENGTH);
}

/**
 * "Browser on System", the browser or tool alone, "Browser on System" with "Browser" for one not recognised, or
 * "Unknown device". Plain substring checks on the lower-cased, length-capped text: nothing here can backtrack.
 */
export function deviceLabel(userAgent: string | null | undefined): string {
  const text = keptUserAgent(userAgent)?.toLowerCase();
  if (text === undefined) return UNKNOWN_DEVICE;
  const start = text.trimStart();
  for (const [prefix, label] of TOOLS) if (start.startsWith(prefix)) return label;
  const browser = firstMatch(text, BROWSERS);
  const system = firstMatch(text, SYSTEMS);
  // A browser's User-Agent starts with "Mozilla/5.0"; anything else naming a system is some other program on it.
  if (browser && system) return `${browser} on ${system}`;
  if (browser) return browser;
  if (system) return text.startsWith("mozilla/") ? `Browser on ${system}` : `App on ${system}`;
  return UNKNOWN_DEVICE;
}

function firstMatch(text: string, table: Array<[string[], string]>): string | undefined {
  for (const [tokens, label] of table) if (tokens.some((token) => text.includes(token))) return label;
  return undefined;
}
