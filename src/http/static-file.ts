// A file embedded in the binary (the console's, the API viewer's), served with its own Content-Security-Policy
// and revalidated by ETag: browsers ask again each time and get 304 with no body while the binary is the same.

export interface StaticFile {
  body: Blob | string;
  contentType: string;
  etag: string;
}

/** A strong ETag from the file's content. */
export function etagOf(content: string | Uint8Array): string {
  return `"${Bun.hash(content).toString(36)}"`;
}

/** True when the request's If-None-Match names `etag` (a list, or `*`). */
function notModified(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch
    .split(",")
    .map((tag) => tag.trim().replace(/^W\//, ""))
    .some((tag) => tag === etag || tag === "*");
}

/** Sets the headers for `file` and gives its body, or answers 304 when `ifNoneMatch` names its ETag. */
export function sendStaticFile(
  file: StaticFile,
  contentSecurityPolicy: string,
  set: { headers: Record<string, unknown>; status?: unknown },
  ifNoneMatch: string | undefined,
): Blob | string {
  set.headers["content-type"] = file.contentType;
  set.headers["content-security-policy"] = contentSecurityPolicy;
  set.headers["cache-control"] = "no-cache";
  set.headers.etag = file.etag;
  if (notModified(ifNoneMatch, file.etag)) {
    set.status = 304;
    return "";
  }
  return file.body;
}
