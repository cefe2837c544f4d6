import { type FormEvent, useCallback, useEffect, useState } from 'react';
import { api, problemText } from '../api/client';
import { LiveCharts } from '../components/LiveCharts';
import { ErrorBanner } from '../components/Notices';
import { TraceWaterfall } from '../components/TraceWaterfall';
import { type AdminHeaders, control } from '../control/api';
import { DeadLetters } from '../control/DeadLetters';
import { Exercises } from '../control/Exercises';
import { Switches } from '../control/Switches';
import { adminToken } from '../session';

// The gateway's admin answers have no response schema in its OpenAPI document, so their shapes
// are written down here (services/gateway/src/application/admin.ts).
interface InstanceStatus {
  id: string;
  ready: boolean;
  error?: string;
  readiness: { status?: string; checks?: Record<string, string> } | null;
}
interface ServiceStatus {
  service: string;
  instances: InstanceStatus[];
  error?: string;
}
interface Breaker {
  caller: string;
  target: string;
  state: 'closed' | 'open' | 'half-open' | string;
  enabled: boolean;
  stats: Record<string, number>;
}
/** The services the gateway's registry view leaves out (services/web/src/control.ts: /control/health). */
interface Health {
  service: string;
  ready: boolean;
  checks: Record<string, string>;
  error?: string;
}
interface AuditReport {
  ok: boolean;
  checkedAt: string;
  results: { invariant: number; name: string; verdict: string; counts: Record<string, number>; details: string[] }[];
}

const SERVICES = ['gateway', 'user', 'catalog', 'cart', 'payment', 'order'] as const;
const REFRESH_MS = 2_000;

function useAdmin() {
  const [token, setToken] = useState(adminToken.get());
  const headers = { authorization: `Bearer ${token}` };
  return { token, setToken, headers };
}

/**
 * The control room, behind the admin token (typed in, kept for this tab only):
 * the service map with each service's readiness and the gateway's breakers, refreshed every
 * 2 s, and a service stopped, killed or started from its card; live charts from Prometheus; the
 * before/after switches; chaos rules set and cleared through a form; the dead-letter queues;
 * the exercises, run with their checks arriving live; an order's trace drawn from Jaeger; the
 * audit on demand.
 */
export function ControlRoom() {
  const { token, setToken, headers } = useAdmin();
  const [draft, setDraft] = useState('');
  const [services, setServices] = useState<ServiceStatus[] | null>(null);
  const [breakers, setBreakers] = useState<Breaker[]>([]);
  const [others, setOthers] = useState<Health[]>([]);
  const [error, setError] = useState<string | null>(null);

  const refresh = useCallback(async () => {
    const auth = { authorization: `Bearer ${token}` };
    const [s, b, h] = await Promise.all([
      api.GET('/api/v1/admin/services', { headers: auth }),
      api.GET('/api/v1/admin/breakers', { headers: auth }),
      control<{ items: Health[] }>('health', auth),
    ]);
    if (h.data) setOthers(h.data.items);
    if (s.response.status === 401 || s.response.status === 403) {
      setError(problemText(s.error, s.response));
      adminToken.set('');
      setToken('');
      return;
    }
    if (s.data) setServices((s.data as { items: ServiceStatus[] }).items);
    if (b.data) setBreakers((b.data as { items: Breaker[] }).items);
    setError(s.data && b.data ? null : problemText(s.error ?? b.error, s.data ? b.response : s.response));
  }, [token, setToken]);

  useEffect(() => {
    if (!token) return;
    void refresh();
    const timer = setInterval(() => void refresh(), REFRESH_MS);
    return () => clearInterval(timer);
  }, [token, refresh]);

  if (!token) {
    const enter = (e: FormEvent) => {
      e.preventDefault();
      adminToken.set(draft.trim());
      setToken(draft.trim());
    };
    return (
      <section aria-labelledby="control-title" className="narrow">
        <h1 id="control-title">Control room</h1>
        <p>
          The control room uses the shop's admin API. Enter the admin token (on the local stack:{' '}
          <code>ADMIN_TOKEN</code> in <code>~/.local/state/shoplab/secrets.env</code>); it is kept for this tab only.
        </p>
        <ErrorBanner message={error} />
        <form className="stack" onSubmit={enter}>
          <label htmlFor="admin-token">Admin token</label>
          <input
            id="admin-token"
            type="password"
            autoComplete="off"
            required
            value={draft}
            onChange={(e) => setDraft(e.target.value)}
          />
          <button type="submit" className="primary">
            Open the control room
          </button>
        </form>
      </section>
    );
  }

  return (
    <section aria-labelledby="control-title">
      <h1 id="control-title">Control room</h1>
      <p>
        <button
          type="button"
          onClick={() => {
            adminToken.set('');
            setToken('');
          }}
        >
          Forget the admin token
        </button>
      </p>
      <ErrorBanner message={error} />
      <ServiceMap services={services} breakers={breakers} others={others} headers={headers} />
      <LiveCharts headers={headers} />
      <Switches headers={headers} />
      <Chaos headers={headers} />
      <DeadLetters headers={headers} />
      <Exercises headers={headers} />
      <TraceWaterfall headers={headers} />
      <Audit headers={headers} />
    </section>
  );
}

/** Stop (graceful), kill (SIGKILL: a crash) or start a service, as `shopctl stop|kill|start` does; asks first. */
function ServiceControls({ service, headers }: { service: string; headers: AdminHeaders }) {
  const [busy, setBusy] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const act = async (action: 'stop' | 'kill' | 'start') => {
    const what = { stop: 'Stop', kill: 'Kill (SIGKILL, no graceful shutdown)', start: 'Start' }[action];
    if (!window.confirm(`${what} ${service}?`)) return;
    setBusy(action);
    const { data, error } = await control<{ output: string }>(`services/${service}/${action}`, headers, {
      method: 'POST',
    });
    setBusy(null);
    setMessage(data ? (data.output.trim().split('\n').at(-1) ?? `${action} ${service}: done`) : (error ?? null));
  };
  return (
    <>
      <fieldset className="row plain">
        <legend className="visually-hidden">Stop, kill or start {service}</legend>
        {(['stop', 'kill', 'start'] as const).map((action) => (
          <button key={action} type="button" disabled={busy !== null} onClick={() => void act(action)}>
            {busy === action ? `${action}…` : action[0]?.toUpperCase() + action.slice(1)}
            <span className="visually-hidden"> {service}</span>
          </button>
        ))}
      </fieldset>
      <p role="status" className="muted" data-testid={`control-${service}`}>
        {message ?? ''}
      </p>
    </>
  );
}

function ServiceMap({
  services,
  breakers,
  others,
  headers,
}: {
  services: ServiceStatus[] | null;
  breakers: Breaker[];
  others: Health[];
  headers: AdminHeaders;
}) {
  return (
    <>
      <h2>Service map</h2>
      <p className="muted">
        Each service's readiness (its /readyz: the backing services' asked by the gateway, the gateway's and the others'
        asked by this web service) and the gateway's circuit breaker towards it; refreshed every {REFRESH_MS / 1000} s.
      </p>
      <ul className="services" aria-label="Services">
        {others.map((h) => (
          <li key={h.service} className={`service ${h.ready ? 'ready' : 'down'}`} data-service={h.service}>
            <h3>{h.service}</h3>
            <p data-testid={`health-${h.service}`}>{h.ready ? 'ready' : 'NOT READY'}</p>
            {h.error ? <p className="error-text">{h.error}</p> : null}
            {h.service === 'gateway' ? <ServiceControls service={h.service} headers={headers} /> : null}
          </li>
        ))}
        {(services ?? []).map((s) => {
          const ready = s.instances.length > 0 && s.instances.every((i) => i.ready);
          const own = breakers.filter((b) => b.target === s.service || b.target.startsWith(`${s.service}-`));
          return (
            <li key={s.service} className={`service ${ready ? 'ready' : 'down'}`} data-service={s.service}>
              <h3>{s.service}</h3>
              <p data-testid={`health-${s.service}`}>{ready ? 'ready' : 'NOT READY'}</p>
              {s.error ? <p className="error-text">{s.error}</p> : null}
              {s.instances
                .filter((i) => !i.ready)
                .map((i) => (
                  <p key={i.id} className="error-text">
                    {i.id}: {i.error ?? i.readiness?.status ?? 'not ready'}
                  </p>
                ))}
              <ul aria-label={`Breakers towards ${s.service}`}>
                {own.map((b) => (
                  <li key={`${b.caller}-${b.target}`} data-breaker={b.target} data-state={b.state}>
                    breaker {b.target}: <span className={`breaker-${b.state}`}>{b.state}</span>
                    {b.enabled ? '' : ' (switched off)'}{' '}
                    <span className="muted">
                      {b.stats.failures ?? 0} failures, {b.stats.rejects ?? 0} rejected, {b.stats.timeouts ?? 0}{' '}
                      timeouts
                    </span>
                  </li>
                ))}
              </ul>
              <ServiceControls service={s.service} headers={headers} />
            </li>
          );
        })}
      </ul>
    </>
  );
}

function Chaos({ headers }: { headers: { authorization: string } }) {
  const [service, setService] = useState<(typeof SERVICES)[number]>('payment');
  const [kind, setKind] = useState<'http' | 'grpc' | 'consumer' | 'relay' | 'client'>('grpc');
  const [target, setTarget] = useState('*');
  const [type, setType] = useState<'latency' | 'error' | 'fail' | 'hang'>('latency');
  const [ms, setMs] = useState(3000);
  const [rate, setRate] = useState(0.5);
  const [duration, setDuration] = useState(120);
  const [result, setResult] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  const fault = type === 'latency' ? { type, ms } : type === 'error' ? { type, rate } : { type };
  const add = async (e: FormEvent) => {
    e.preventDefault();
    const { error: p, response } = await api.PUT('/api/v1/admin/chaos/{service}', {
      headers,
      params: { path: { service } },
      body: { kind, target, fault, durationSeconds: duration },
    });
    if (response.ok) {
      setError(null);
      setResult(`Fault set on ${service}: ${kind} ${target} ${type} for ${duration} s`);
    } else setError(problemText(p, response));
  };
  const clear = async () => {
    const { error: p, response } = await api.DELETE('/api/v1/admin/chaos/{service}', {
      headers,
      params: { path: { service } },
    });
    if (response.ok) {
      setError(null);
      setResult(`Every fault of ${service} cleared`);
    } else setError(problemText(p, response));
  };

  return (
    <>
      <h2>Chaos</h2>
      <form className="stack" onSubmit={(e) => void add(e)} aria-label="Set a fault">
        <label htmlFor="chaos-service">Service</label>
        <select id="chaos-service" value={service} onChange={(e) => setService(e.target.value as typeof service)}>
          {SERVICES.map((s) => (
            <option key={s}>{s}</option>
          ))}
        </select>
        <label htmlFor="chaos-kind">Where</label>
        <select id="chaos-kind" value={kind} onChange={(e) => setKind(e.target.value as typeof kind)}>
          <option value="grpc">gRPC method</option>
          <option value="http">HTTP route</option>
          <option value="consumer">consumed topic</option>
          <option value="relay">outbox relay</option>
          <option value="client">outbound call</option>
        </select>
        <label htmlFor="chaos-target">Target (a route, method or topic; * for all)</label>
        <input id="chaos-target" required value={target} onChange={(e) => setTarget(e.target.value)} />
        <label htmlFor="chaos-type">Fault</label>
        <select id="chaos-type" value={type} onChange={(e) => setType(e.target.value as typeof type)}>
          <option value="latency">latency</option>
          <option value="error">errors (a share of calls)</option>
          <option value="fail">fail every call</option>
          <option value="hang">hang</option>
        </select>
        {type === 'latency' ? (
          <>
            <label htmlFor="chaos-ms">Delay (ms)</label>
            <input
              id="chaos-ms"
              type="number"
              min={1}
              max={120000}
              value={ms}
              onChange={(e) => setMs(Number(e.target.value))}
            />
          </>
        ) : null}
        {type === 'error' ? (
          <>
            <label htmlFor="chaos-rate">Share of calls that fail (0–1)</label>
            <input
              id="chaos-rate"
              type="number"
              step="0.05"
              min={0.05}
              max={1}
              value={rate}
              onChange={(e) => setRate(Number(e.target.value))}
            />
          </>
        ) : null}
        <label htmlFor="chaos-duration">Expires after (seconds)</label>
        <input
          id="chaos-duration"
          type="number"
          min={1}
          max={86400}
          value={duration}
          onChange={(e) => setDuration(Number(e.target.value))}
        />
        <div className="row">
          <button type="submit" className="primary">
            Set the fault
          </button>
          <button type="button" onClick={() => void clear()}>
            Clear {service}’s faults
          </button>
        </div>
      </form>
      <p role="status" className="muted">
        {result ?? ''}
      </p>
      <ErrorBanner message={error} />
    </>
  );
}

function Audit({ headers }: { headers: { authorization: string } }) {
  const [report, setReport] = useState<AuditReport | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = async () => {
    setBusy(true);
    const { data, error: p, response } = await api.GET('/api/v1/admin/audit', { headers });
    setBusy(false);
    if (data) {
      setReport(data as AuditReport);
      setError(null);
    } else setError(problemText(p, response));
  };
  return (
    <>
      <h2>Audit</h2>
      <p className="muted">The shop's invariants, checked through every service's admin API.</p>
      <button type="button" onClick={() => void run()} disabled={busy}>
        {busy ? 'Running the audit…' : 'Run the audit'}
      </button>
      <ErrorBanner message={error} />
      {report ? (
        <table className="lines" aria-label="Audit results">
          <thead>
            <tr>
              <th scope="col">Invariant</th>
              <th scope="col">Verdict</th>
              <th scope="col">Counts</th>
            </tr>
          </thead>
          <tbody>
            {report.results.map((r) => (
              <tr key={r.invariant} data-verdict={r.verdict}>
                <td>
                  {r.invariant}. {r.name}
                  {r.details.length ? <div className="muted">{r.details.slice(0, 3).join('; ')}</div> : null}
                </td>
                <td className={r.verdict === 'FAIL' ? 'error-text' : ''}>{r.verdict}</td>
                <td>
                  {Object.entries(r.counts)
                    .map(([k, v]) => `${k} ${v}`)
                    .join(', ')}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </>
  );
}
