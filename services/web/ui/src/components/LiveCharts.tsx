import { useCallback, useEffect, useState } from 'react';
import { problemText } from '../api/client';
import { ErrorBanner } from './Notices';

// The shape of the web service's own chart answer (services/web/src/charts.ts: chartSchema).
interface Series {
  label: string;
  points: [number, number | null][];
}
interface Chart {
  name: string;
  title: string;
  unit: string;
  query: string;
  from: number;
  to: number;
  stepSeconds: number;
  series: Series[];
}

const CHART_NAMES = ['saga-outcomes', 'http-p99', 'outbox-backlog', 'consumer-lag', 'history-lag'] as const;
const REFRESH_MS = 10_000;
const WIDTH = 480;
const HEIGHT = 160;
/** Line colours with enough contrast on the page's white (WCAG AA for graphics, 3:1). */
const COLOURS = ['#1f5fbf', '#b3261e', '#1e7d32', '#8a4b08', '#6b2fa3', '#00695c', '#ad1457', '#37474f'];

/** A readable number: at most 3 significant digits, small values without exponent noise. */
export function formatValue(value: number | null, unit: string): string {
  if (value === null) return '–';
  const text = Math.abs(value) >= 100 || value === 0 ? value.toFixed(0) : value.toPrecision(3);
  return unit === 's' ? `${text} s` : `${text} ${unit}`;
}

function LineChart({ chart }: { chart: Chart }) {
  const values = chart.series.flatMap((s) => s.points.map(([, v]) => v).filter((v): v is number => v !== null));
  const top = Math.max(...values, 0) || 1;
  const x = (t: number) => ((t - chart.from) / Math.max(1, chart.to - chart.from)) * WIDTH;
  const y = (v: number) => HEIGHT - (v / top) * (HEIGHT - 8);
  const id = `chart-${chart.name}`;
  return (
    <figure className="chart" data-chart={chart.name} aria-labelledby={`${id}-title`}>
      <figcaption id={`${id}-title`}>
        {chart.title} <span className="muted">(top of the scale: {formatValue(top, chart.unit)})</span>
      </figcaption>
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={chart.title} preserveAspectRatio="none">
        <line x1={0} y1={HEIGHT} x2={WIDTH} y2={HEIGHT} stroke="#767676" />
        {chart.series.map((s, i) => {
          // A gap (no value: no requests for a quantile) breaks the line instead of drawing it to zero.
          const segments: string[][] = [[]];
          for (const [t, v] of s.points) {
            if (v === null) segments.push([]);
            else segments.at(-1)?.push(`${x(t).toFixed(1)},${y(v).toFixed(1)}`);
          }
          return segments
            .filter((points) => points.length > 0)
            .map((points) => (
              <polyline
                key={`${s.label}-${points[0]}`}
                points={points.join(' ')}
                fill="none"
                stroke={COLOURS[i % COLOURS.length]}
                strokeWidth={2}
                vectorEffect="non-scaling-stroke"
              />
            ));
        })}
      </svg>
      {chart.series.length === 0 ? (
        <p className="muted">No data in this window (nothing has reported it yet).</p>
      ) : (
        <ul className="legend" aria-label={`${chart.title}: latest values`}>
          {chart.series.map((s, i) => {
            const last = [...s.points].reverse().find(([, v]) => v !== null)?.[1] ?? null;
            return (
              <li key={s.label} data-series={s.label}>
                <span className="swatch" style={{ background: COLOURS[i % COLOURS.length] }} aria-hidden="true" />
                {s.label}: <strong>{formatValue(last, chart.unit)}</strong>
              </li>
            );
          })}
        </ul>
      )}
      <details>
        <summary>Query</summary>
        <code>{chart.query}</code>
      </details>
    </figure>
  );
}

/**
 * A few live charts from Prometheus, for where Grafana is not running: the web service runs
 * named queries there (the browser never sends PromQL), refreshed every 10 s.
 */
export function LiveCharts({ headers }: { headers: { authorization: string } }) {
  // The page builds its headers anew on every render: depend on the token, not the object.
  const { authorization } = headers;
  const [minutes, setMinutes] = useState(15);
  const [charts, setCharts] = useState<Chart[]>([]);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(async () => {
    const answers = await Promise.all(
      CHART_NAMES.map(async (name) => {
        const response = await fetch(`/control/charts/${name}?minutes=${minutes}`, { headers: { authorization } });
        const body: unknown = await response.json().catch(() => null);
        return response.ok
          ? { chart: body as Chart, problem: null }
          : { chart: null, problem: problemText(body, response) };
      }),
    );
    setCharts(answers.flatMap((a) => (a.chart ? [a.chart] : [])));
    setError(answers.find((a) => a.problem !== null)?.problem ?? null);
  }, [authorization, minutes]);

  useEffect(() => {
    void load();
    const timer = setInterval(() => void load(), REFRESH_MS);
    return () => clearInterval(timer);
  }, [load]);

  return (
    <>
      <h2>Live charts</h2>
      <p className="muted">
        From Prometheus, refreshed every {REFRESH_MS / 1000} s. <label htmlFor="chart-minutes">Window</label>{' '}
        <select id="chart-minutes" value={minutes} onChange={(e) => setMinutes(Number(e.target.value))}>
          <option value={5}>5 minutes</option>
          <option value={15}>15 minutes</option>
          <option value={60}>1 hour</option>
        </select>
      </p>
      <ErrorBanner message={error} />
      <div className="charts">
        {charts.map((c) => (
          <LineChart key={c.name} chart={c} />
        ))}
      </div>
    </>
  );
}
