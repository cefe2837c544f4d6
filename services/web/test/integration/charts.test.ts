// The control room's live charts against the real Prometheus of the local stack: every named
// query is valid PromQL that Prometheus runs (an answer this service reads, with the step and
// window asked for; an expression Prometheus refuses is a 400 there, and readChart throws), the routes want the admin token and a known chart, and a Prometheus that
// does not answer is a 503 problem naming it, never a hang or a bare 5xx.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { HttpApp } from '@shoplab/chassis';
import { closedPort } from '@shoplab/chassis/testing';
import { CHARTS, type ChartName, readChart } from '../../src/charts';
import { appWith, TEST_ADMIN_TOKEN as TOKEN } from '../support/app';

const PROMETHEUS_URL = process.env.PROMETHEUS_URL ?? 'http://127.0.0.1:9090';

async function prometheusIsUp(): Promise<boolean> {
  return fetch(new URL('/-/ready', PROMETHEUS_URL))
    .then((r) => r.ok)
    .catch(() => false);
}

let live: HttpApp;
let dead: HttpApp;
before(async () => {
  live = await appWith({ PROMETHEUS_URL });
  dead = await appWith({ PROMETHEUS_URL: `http://127.0.0.1:${await closedPort()}` });
});
after(async () => {
  await live?.close();
  await dead?.close();
});

// The services need not be running (make check runs this before starting them): the series may
// be empty; the browser test sees lines of the running shop's own checkout.
test('every chart is a query Prometheus runs, over the window and step asked for', async (t) => {
  if (!(await prometheusIsUp())) {
    t.skip(`Prometheus (${PROMETHEUS_URL}) is not up: start the stack (make up)`);
    return;
  }
  const now = Date.now();
  for (const name of Object.keys(CHARTS) as ChartName[]) {
    const chart = await readChart(PROMETHEUS_URL, name, 30, now);
    assert.equal(chart.name, name);
    assert.equal(chart.to - chart.from, 30 * 60, name);
    assert.equal(chart.stepSeconds, 15, `${name}: 30 minutes in 120 points`);
    for (const s of chart.series) {
      assert.ok(s.label.length > 0, `${name}: every series is named by ${CHARTS[name].by}`);
      for (const [time, value] of s.points) {
        assert.ok(time >= chart.from && time <= chart.to, `${name}: ${time} inside the window`);
        assert.ok(value === null || Number.isFinite(value), `${name}: ${value} is a number or a gap`);
      }
    }
  }
});

test('the chart routes want the admin token and a chart they know', async () => {
  const auth = { authorization: `Bearer ${TOKEN}` };
  assert.equal((await live.inject({ method: 'GET', url: '/control/charts' })).statusCode, 401);
  const list = await live.inject({ method: 'GET', url: '/control/charts', headers: auth });
  assert.equal(list.statusCode, 200, list.body);
  assert.deepEqual(
    list.json().items.map((c: { name: string }) => c.name),
    Object.keys(CHARTS),
  );
  const unknown = await live.inject({ method: 'GET', url: '/control/charts/rm-rf', headers: auth });
  assert.equal(unknown.statusCode, 400, unknown.body);
  assert.equal(unknown.headers['content-type'], 'application/problem+json; charset=utf-8');
  const tooLong = await live.inject({
    method: 'GET',
    url: '/control/charts/consumer-lag?minutes=100000',
    headers: auth,
  });
  assert.equal(tooLong.statusCode, 400, tooLong.body);
});

test('a Prometheus that does not answer is a 503 problem naming it', async () => {
  const res = await dead.inject({
    method: 'GET',
    url: '/control/charts/saga-outcomes',
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  assert.equal(res.statusCode, 503, res.body);
  assert.equal(res.json().code, 'SHOP_DEPENDENCY_UNAVAILABLE');
  assert.match(res.body, /prometheus/i);
});
