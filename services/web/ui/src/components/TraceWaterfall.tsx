import { type FormEvent, useState } from 'react';
import { ErrorBanner } from './Notices';

// Jaeger's query API (v1 JSON), as the web service passes it through at /jaeger/api.
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
interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string }>;
}

// Database calls and fastify's hook spans: many, short, and not the story.
const NOISE = /^(pg[.-]|onRequest - |preHandler - |preValidation - |onResponse - |onSend - |handler - |request$)/;

const isError = (s: JaegerSpan) =>
  (s.tags ?? []).some(
    (t) => (t.key === 'error' && t.value === true) || (t.key === 'otel.status_code' && t.value === 'ERROR'),
  );

interface Row {
  span: JaegerSpan;
  service: string;
  depth: number;
}

/** The shown spans in tree order (a hidden span's children hang under its nearest shown ancestor). */
export function waterfallRows(trace: JaegerTrace): Row[] {
  const byId = new Map(trace.spans.map((s) => [s.spanID, s]));
  const shown = (s: JaegerSpan) => !NOISE.test(s.operationName);
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
  const rows: Row[] = [];
  const walk = (parent: string | undefined, depth: number) => {
    for (const span of children.get(parent) ?? []) {
      rows.push({ span, service: trace.processes[span.processID]?.serviceName ?? '?', depth });
      walk(span.spanID, depth + 1);
    }
  };
  walk(undefined, 0);
  return rows;
}

const COLORS: Record<string, string> = {
  web: '#6a3d9a',
  gateway: '#1f4e99',
  user: '#0f7b6c',
  catalog: '#8a5a00',
  cart: '#b5367a',
  payment: '#2e6b1f',
  order: '#a8321d',
};

/**
 * An order's checkout trace, drawn as a waterfall from Jaeger (spans carrying `order.id`): every
 * service's spans on one time axis, errors in red, with a link to Jaeger's own page of it.
 */
export function TraceWaterfall({ headers }: { headers: { authorization: string } }) {
  const [orderId, setOrderId] = useState('');
  const [trace, setTrace] = useState<JaegerTrace | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const show = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const tags = encodeURIComponent(JSON.stringify({ 'order.id': orderId.trim() }));
      const search = await fetch(`/jaeger/api/traces?service=order&tags=${tags}&limit=20&lookback=2d`, { headers });
      if (!search.ok) throw new Error(`Jaeger answered ${search.status} to the search`);
      const found = ((await search.json()) as { data: JaegerTrace[] | null }).data ?? [];
      const first = found[0];
      if (!first) throw new Error(`No trace in Jaeger has a span with order.id=${orderId.trim()} (yet)`);
      const res = await fetch(`/jaeger/api/traces/${encodeURIComponent(first.traceID)}`, { headers });
      if (!res.ok) throw new Error(`Jaeger answered ${res.status} for trace ${first.traceID}`);
      const whole = ((await res.json()) as { data: JaegerTrace[] }).data[0];
      if (!whole) throw new Error(`Trace ${first.traceID} is empty`);
      setTrace(whole);
    } catch (err) {
      setTrace(null);
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  const rows = trace ? waterfallRows(trace) : [];
  const t0 = Math.min(...rows.map((r) => r.span.startTime));
  const end = Math.max(...rows.map((r) => r.span.startTime + r.span.duration));
  const total = Math.max(1, end - t0);
  const services = [...new Set(rows.map((r) => r.service))].sort();
  const jaegerUi = `${window.location.protocol}//${window.location.hostname}:16686`;

  return (
    <>
      <h2>Trace of an order</h2>
      <form className="search" onSubmit={(e) => void show(e)}>
        <label htmlFor="trace-order">Order id</label>
        <input id="trace-order" required value={orderId} onChange={(e) => setOrderId(e.target.value)} />
        <button type="submit" disabled={busy}>
          {busy ? 'Asking Jaeger…' : 'Show the trace'}
        </button>
      </form>
      <ErrorBanner message={error} />
      {trace ? (
        <>
          <p>
            {rows.length} spans over {(total / 1000).toFixed(1)} ms; services:{' '}
            <span data-testid="trace-services">{services.join(', ')}</span>.{' '}
            <a href={`${jaegerUi}/trace/${trace.traceID}`} target="_blank" rel="noreferrer">
              Open it in Jaeger
            </a>
          </p>
          <ol className="waterfall" aria-label="Trace waterfall">
            {rows.map(({ span, service, depth }) => {
              const left = ((span.startTime - t0) / total) * 100;
              const width = Math.max(0.3, (span.duration / total) * 100);
              const failed = isError(span);
              return (
                <li key={span.spanID} data-service={service} className={failed ? 'failed' : ''}>
                  <span className="span-label" style={{ paddingLeft: `${depth * 10}px` }}>
                    <strong style={{ color: COLORS[service] ?? '#333' }}>{service}</strong> {span.operationName}
                    {failed ? <span className="error-text"> (error)</span> : null}
                  </span>
                  <span className="span-track">
                    <span
                      className="span-bar"
                      style={{
                        left: `${left}%`,
                        width: `${width}%`,
                        background: failed ? '#c0262d' : (COLORS[service] ?? '#555'),
                      }}
                    />
                  </span>
                  <span className="span-time">{(span.duration / 1000).toFixed(1)} ms</span>
                </li>
              );
            })}
          </ol>
        </>
      ) : null}
    </>
  );
}
