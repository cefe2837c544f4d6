// An error as one line of text, for the audit's collection errors and every shopctl message
// (packages/shopctl/src/error-text.ts). Both stay off the chassis (shopctl is a command-line
// tool without the service runtime; this package is what the gateway and shopctl share), so
// this is the chassis' errorText's twin: keep the two alike.

/**
 * The error's message (anything else thrown: String(value)). With `cause` (the default), an
 * Error cause's message is appended: fetch puts the real reason, e.g. ECONNREFUSED, there.
 */
export function messageOf(err: unknown, options: { cause?: boolean } = {}): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (options.cause ?? true) ? (err as { cause?: unknown }).cause : undefined;
  return cause instanceof Error ? `${err.message}: ${cause.message}` : err.message;
}
