// shopctl trace <orderId>: finds the checkout's trace in Jaeger (saga spans carry the
// attribute order.id) and prints the Jaeger link and a text tree of its spans.

interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  processID: string;
  startTime: number;
  duration: number;
  references?: { refType: string; spanID: string }[];
  tags?: { key: string; value: unknown }[];
}

export interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string }>;
}

export interface TraceTreeOptions {
  /** Leave out database spans (pg.*, pg-pool.*) and fastify hook spans: the story without the noise. */
  compact?: boolean;
}

const NOISE = /^(pg[.-]|pg\.|onRequest - |preHandler - |preValidation - |onResponse - |onSend - |handler - |request$)/;

function isError(span: JaegerSpan): boolean {
  return (span.tags ?? []).some(
    (t) => (t.key === 'error' && t.value === true) || (t.key === 'otel.status_code' && t.value === 'ERROR'),
  );
}

/** The spans as an indented tree (children under their parent, in start order), one line each. */
export function renderTraceTree(trace: JaegerTrace, options: TraceTreeOptions = {}): string {
  const byId = new Map(trace.spans.map((s) => [s.spanID, s]));
  const shown = (s: JaegerSpan) => !options.compact || !NOISE.test(s.operationName);
  // A hidden span's children are attached to its nearest shown ancestor.
  const parentOf = (s: JaegerSpan): string | undefined => {
    let ref = s.references?.find((r) => byId.has(r.spanID))?.spanID;
    while (ref) {
      const parent = byId.get(ref);
      if (!parent) return undefined;
      if (shown(parent)) return ref;
      ref = parent.references?.find((r) => byId.has(r.spanID))?.spanID;
    }
    return undefined;
  };
  const children = new Map<string | undefined, JaegerSpan[]>();
  for (const span of trace.spans.filter(shown)) {
    const key = parentOf(span);
    children.set(key, [...(children.get(key) ?? []), span]);
  }
  for (const list of children.values()) list.sort((a, b) => a.startTime - b.startTime);
  const t0 = Math.min(...trace.spans.map((s) => s.startTime));
  const lines: string[] = [];
  const walk = (parent: string | undefined, depth: number) => {
    for (const span of children.get(parent) ?? []) {
      const service = trace.processes[span.processID]?.serviceName ?? '?';
      const at = ((span.startTime - t0) / 1000).toFixed(1).padStart(8);
      const took = (span.duration / 1000).toFixed(1);
      lines.push(
        `${at} ms  ${'  '.repeat(depth)}${service}: ${span.operationName} (${took} ms)${isError(span) ? '  ✗ ERROR' : ''}`,
      );
      walk(span.spanID, depth + 1);
    }
  };
  walk(undefined, 0);
  return lines.join('\n');
}

/** Finds the trace holding the saga spans of `orderId` and fetches it whole. */
export async function findOrderTrace(
  jaegerUrl: string,
  orderId: string,
  fetchImpl: typeof fetch = fetch,
): Promise<JaegerTrace> {
  const tags = encodeURIComponent(JSON.stringify({ 'order.id': orderId }));
  const search = await fetchImpl(`${jaegerUrl}/api/traces?service=order&tags=${tags}&limit=20&lookback=2d`);
  if (!search.ok) throw new Error(`Jaeger answered ${search.status} to the trace search`);
  const found = ((await search.json()) as { data: JaegerTrace[] | null }).data ?? [];
  const first = found[0];
  if (!first)
    throw new Error(
      `no trace in Jaeger has a span with order.id=${orderId} (is the order id right, and is the trace still in Jaeger's memory?)`,
    );
  const res = await fetchImpl(`${jaegerUrl}/api/traces/${first.traceID}`);
  if (!res.ok) throw new Error(`Jaeger answered ${res.status} for trace ${first.traceID}`);
  const trace = ((await res.json()) as { data: JaegerTrace[] }).data[0];
  if (!trace) throw new Error(`trace ${first.traceID} is empty`);
  return trace;
}
