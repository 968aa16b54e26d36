// Requests to S3 storage this process gave up waiting for: Bun's S3 client takes no signal, so such a request is
// abandoned, not cancelled, and may keep the process alive. Its own module so the entry can ask without loading the store.
let abandoned = 0;

/** How many requests this process gave up waiting for (they may still hold a socket open). */
export function abandonedS3Requests(): number {
  return abandoned;
}

/** Counts one more abandoned request. */
export function noteAbandonedRequest(): void {
  abandoned++;
}
