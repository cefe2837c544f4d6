// The control room's live charts, for where Grafana is not running (the native stack): a fixed
// set of named PromQL range queries, run against Prometheus by this service and answered as
// plain series. The browser names a chart, never a query: nobody can send Prometheus an
// expensive expression through the public web port, and the admin token is required like the
// rest of the control room.
import { type HttpApp, requireAdminToken, ShopError } from '@shoplab/chassis';
import { z } from 'zod';

export interface ChartDefinition {
  title: string;
  unit: string;
  /** The label that names a series (one line per value of it). */
  by: string;
  query: string;
}

/** Requests the control room leaves out of a service's latency: its own polling, probes and scrapes. */
const NOT_SHOPPERS = 'route!~"/admin.*|/health.*|/metrics|/openapi.json|/api/v1/admin.*"';

export const CHARTS = {
  'saga-outcomes': {
    title: 'Checkouts ended per second, by outcome',
    unit: '/s',
    by: 'outcome',
    query: 'sum by (outcome) (rate(shop_saga_outcomes_total[1m]))',
  },
  'http-p99': {
    title: 'p99 of HTTP requests per service (probes and admin calls left out)',
    unit: 's',
    by: 'service',
    query: `histogram_quantile(0.99, sum by (le, service) (rate(shop_http_request_duration_seconds_bucket{${NOT_SHOPPERS}}[1m])))`,
  },
  'outbox-backlog': {
    title: 'Outbox rows not yet published, per service',
    unit: 'rows',
    by: 'service',
    query: 'sum by (service) (shop_outbox_backlog)',
  },
  'consumer-lag': {
    title: 'Consumer lag per consumer group',
    unit: 'messages',
    by: 'group',
    query: 'sum by (group) (shop_consumer_lag_messages)',
  },
  'history-lag': {
    title: 'Order history (the CQRS read side) behind its topics',
    unit: 'events',
    by: 'topic',
    query: 'max by (topic) (shop_history_lag_events)',
  },
} as const satisfies Record<string, ChartDefinition>;

export type ChartName = keyof typeof CHARTS;
const chartNames = Object.keys(CHARTS) as [ChartName, ...ChartName[]];

/** Points per chart: the step is the window divided by this (at least Prometheus' scrape interval). */
const POINTS = 120;
const MIN_STEP_SECONDS = 5;

export const chartQuerySchema = z.object({
  minutes: z.coerce.number().int().min(1).max(360).default(15).describe('how far back the chart reaches'),
});

const seriesSchema = z.object({
  label: z.string().describe('the value of the chart’s `by` label for this line'),
  points: z.array(z.tuple([z.number().describe('unix seconds'), z.number().nullable()])),
});

export const chartSchema = z.object({
  name: z.enum(chartNames),
  title: z.string(),
  unit: z.string(),
  query: z.string().describe('the PromQL expression, to paste into Prometheus'),
  from: z.number(),
  to: z.number(),
  stepSeconds: z.number(),
  series: z.array(seriesSchema),
});
export type Chart = z.infer<typeof chartSchema>;

/** Prometheus' `query_range` answer (the parts used). */
const rangeAnswer = z.object({
  status: z.literal('success'),
  data: z.object({
    resultType: z.literal('matrix'),
    result: z.array(
      z.object({ metric: z.record(z.string(), z.string()), values: z.array(z.tuple([z.number(), z.string()])) }),
    ),
  }),
});

/** Prometheus' samples as numbers: NaN (a quantile of no requests) and ±Inf become null, a gap. */
function sample(value: string): number | null {
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

/** Runs one chart's range query over the last `minutes` (ending `now`, unix ms). */
export async function readChart(
  prometheusUrl: string,
  name: ChartName,
  minutes: number,
  now = Date.now(),
  fetchImpl: typeof fetch = fetch,
): Promise<Chart> {
  const chart: ChartDefinition = CHARTS[name];
  const to = Math.floor(now / 1000);
  const from = to - minutes * 60;
  const stepSeconds = Math.max(MIN_STEP_SECONDS, Math.ceil((minutes * 60) / POINTS));
  const url = new URL('/api/v1/query_range', prometheusUrl);
  const body = new URLSearchParams({
    query: chart.query,
    start: String(from),
    end: String(to),
    step: String(stepSeconds),
  });
  let answer: unknown;
  try {
    const response = await fetchImpl(url, { method: 'POST', body, signal: AbortSignal.timeout(10_000) });
    answer = await response.json();
    if (!response.ok)
      throw new Error(`Prometheus answered ${response.status}: ${JSON.stringify(answer).slice(0, 200)}`);
  } catch (err) {
    throw new ShopError('SHOP_DEPENDENCY_UNAVAILABLE', 'Prometheus did not answer', {
      dependency: 'prometheus',
      reason: err instanceof Error ? err.message : String(err),
    });
  }
  const parsed = rangeAnswer.safeParse(answer);
  if (!parsed.success) {
    throw new ShopError('SHOP_DEPENDENCY_UNAVAILABLE', 'Prometheus gave an answer this service cannot read', {
      dependency: 'prometheus',
    });
  }
  const series = parsed.data.data.result
    .map((r) => ({
      label: r.metric[chart.by] ?? '(none)',
      points: r.values.map(([t, v]) => [t, sample(v)] as [number, number | null]),
    }))
    .sort((a, b) => a.label.localeCompare(b.label));
  return { name, title: chart.title, unit: chart.unit, query: chart.query, from, to, stepSeconds, series };
}

export function registerChartRoutes(app: HttpApp, deps: { prometheusUrl: string; adminToken: string }): void {
  const common = { preHandler: requireAdminToken(deps.adminToken) };
  const schema = { tags: ['control room'], security: [{ adminToken: [] }] };
  app.get(
    '/control/charts',
    {
      ...common,
      schema: {
        ...schema,
        summary: 'The live charts the control room can draw',
        response: {
          200: z.object({
            items: z.array(z.object({ name: z.enum(chartNames), title: z.string(), unit: z.string() })),
          }),
        },
      },
    },
    async () => ({
      items: chartNames.map((name) => ({ name, title: CHARTS[name].title, unit: CHARTS[name].unit })),
    }),
  );
  app.get(
    '/control/charts/:name',
    {
      ...common,
      schema: {
        ...schema,
        summary: 'One live chart: its series over the last minutes, read from Prometheus',
        params: z.object({ name: z.enum(chartNames) }),
        querystring: chartQuerySchema,
        response: { 200: chartSchema },
      },
    },
    async (request) => {
      const { name } = request.params as { name: ChartName };
      const { minutes } = request.query as z.infer<typeof chartQuerySchema>;
      return readChart(deps.prometheusUrl, name, minutes);
    },
  );
}
