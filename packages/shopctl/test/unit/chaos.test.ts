import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, test } from 'node:test';
import { chaosCommand, describeFault, parseChaosSet, parseFault, parseServices } from '../../src/chaos';
import { formatDuration, parseDuration, UsageError } from '../../src/command';

test('durations take ms, s, m and h, and refuse a bare number', () => {
  assert.equal(parseDuration('800ms'), 800);
  assert.equal(parseDuration('30s'), 30_000);
  assert.equal(parseDuration('1.5s'), 1_500);
  assert.equal(parseDuration('2m'), 120_000);
  assert.equal(parseDuration('1h'), 3_600_000);
  for (const bad of ['60', '5 minutes', '-1s', '0s', 's', '']) {
    assert.throws(() => parseDuration(bad), UsageError, bad);
  }
  assert.equal(formatDuration(1500), '1.5s');
  assert.equal(formatDuration(90_000), '1m30s');
  assert.equal(formatDuration(120_000), '2m');
});

test('faults: latency=D, error=rate or percentage, fail, hang', () => {
  assert.deepEqual(parseFault('latency=800ms'), { type: 'latency', ms: 800 });
  assert.deepEqual(parseFault('latency=2s'), { type: 'latency', ms: 2000 });
  assert.deepEqual(parseFault('error=0.3'), { type: 'error', rate: 0.3 });
  assert.deepEqual(parseFault('error=30%'), { type: 'error', rate: 0.3 });
  assert.deepEqual(parseFault('fail'), { type: 'fail' });
  assert.deepEqual(parseFault('hang'), { type: 'hang' });
  assert.throws(() => parseFault('error=1.5'), /must be in \(0, 1\]/);
  assert.throws(() => parseFault('error=0'), /must be in \(0, 1\]/);
  assert.throws(() => parseFault('error='), /must be in \(0, 1\]/);
  assert.throws(() => parseFault('latency=5m'), /limit of 120s/);
  assert.throws(() => parseFault('latency'), /unknown fault/);
  assert.throws(() => parseFault('fail=1'), /unknown fault/);
  assert.throws(() => parseFault('slow'), /unknown fault 'slow'/);
  assert.equal(describeFault({ type: 'error', rate: 0.25 }), 'error 25%');
  assert.equal(describeFault({ type: 'latency', ms: 800 }), 'latency 800ms');
});

test('chaos set takes service, kind, target and fault, and --for in whole seconds', () => {
  assert.deepEqual(parseChaosSet(['catalog', 'http', 'GET /v1/products', 'latency=800ms', '--for', '60s']), {
    service: 'catalog',
    rule: { kind: 'http', target: 'GET /v1/products', fault: { type: 'latency', ms: 800 }, durationSeconds: 60 },
  });
  assert.deepEqual(parseChaosSet(['cart', 'consumer', 'order.events', 'fail', '--for=1500ms']).rule, {
    kind: 'consumer',
    target: 'order.events',
    fault: { type: 'fail' },
    durationSeconds: 2,
  });
  assert.equal(parseChaosSet(['gateway', 'client', '*', 'hang']).rule.durationSeconds, undefined);
  assert.throws(() => parseChaosSet(['shop', 'http', '*', 'fail']), /unknown service 'shop'/);
  assert.throws(() => parseChaosSet(['cart', 'disk', '*', 'fail']), /unknown kind 'disk'/);
  assert.throws(() => parseChaosSet(['cart', 'http', '/v1/cart', 'fail']), /METHOD \/route/);
  assert.throws(() => parseChaosSet(['cart', 'http', 'GET', '/v1/cart', 'fail']), /got 5 argument\(s\) \(quote/);
  assert.throws(() => parseChaosSet(['cart', 'http', '*', 'fail', '--for', '2d']), /not a duration/);
  assert.throws(() => parseChaosSet(['cart', 'http', '*', 'fail', '--for', '25h']), /limit of 24h/);
  assert.throws(() => parseChaosSet(['cart', 'http', '*', 'fail', '--force']), /unknown option --force/);
});

test('a clock skew: skew=±D on kind clock, target *, and nothing else', () => {
  assert.deepEqual(parseFault('skew=-30s'), { type: 'skew', ms: -30_000 });
  assert.deepEqual(parseFault('skew=+2m'), { type: 'skew', ms: 120_000 });
  assert.deepEqual(parseFault('skew=1500ms'), { type: 'skew', ms: 1_500 });
  assert.throws(() => parseFault('skew=-25h'), /limit of 24h/);
  assert.throws(() => parseFault('skew=-0s'), /more than zero/);
  assert.throws(() => parseFault('skew'), /unknown fault/);
  assert.equal(describeFault({ type: 'skew', ms: -30_000 }), 'skew -30s');
  assert.equal(describeFault({ type: 'skew', ms: 90_000 }), 'skew +1m30s');
  assert.deepEqual(parseChaosSet(['payment', 'clock', '*', 'skew=-30s', '--for', '2m']).rule, {
    kind: 'clock',
    target: '*',
    fault: { type: 'skew', ms: -30_000 },
    durationSeconds: 120,
  });
  assert.throws(() => parseChaosSet(['payment', 'clock', '*', 'fail']), /the clock takes a skew/);
  assert.throws(() => parseChaosSet(['payment', 'grpc', '*', 'skew=-30s']), /for kind clock only/);
  assert.throws(() => parseChaosSet(['payment', 'clock', 'events', 'skew=-30s']), /target is '\*'/);
});

test('no service named means all six; a repeated one counts once', () => {
  assert.deepEqual(parseServices([]), ['user', 'catalog', 'cart', 'payment', 'order', 'gateway']);
  assert.deepEqual(parseServices(['cart', 'cart', 'gateway']), ['cart', 'gateway']);
});

// The command against one fake service that keeps its rules like the chassis does.
let rules: { id: string; kind: string; target: string; fault: unknown; createdAt: string; expiresAt: string }[];
let server: Server;
let base: string;
let nextId = 0;

before(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const send = (status: number, value: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(value));
      };
      if (req.headers.authorization !== 'Bearer t0k') return send(401, { code: 'SHOP_UNAUTHENTICATED', status: 401 });
      if (req.method === 'GET') return send(200, { items: rules });
      if (req.method === 'PUT') {
        const input = JSON.parse(body);
        const id = `00000000-0000-4000-8000-${String(++nextId).padStart(12, '0')}`;
        const rule = {
          id,
          ...input,
          createdAt: new Date().toISOString(),
          expiresAt: new Date(Date.now() + (input.durationSeconds ?? 300) * 1000).toISOString(),
        };
        rules.push(rule);
        return send(201, rule);
      }
      const id = req.url?.split('/')[3];
      const before = rules.length;
      rules = id ? rules.filter((r) => r.id !== id) : [];
      if (id && rules.length === before) return send(404, { code: 'SHOP_NOT_FOUND', status: 404, title: 'x' });
      return send(200, { cleared: before - rules.length });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  rules = [];
});

async function run(argv: string[], token = 't0k') {
  let out = '';
  let err = '';
  const env = { ADMIN_TOKEN: token, SHOPLAB_STATE: '/nonexistent', SHOPLAB_CATALOG_URL: base, SHOPLAB_CART_URL: base };
  const code = await chaosCommand(argv, { env, out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

test('set, list and clear one service end to end (against a fake service)', async () => {
  const set = await run(['set', 'catalog', 'http', 'GET /v1/products', 'error=0.5', '--for', '2m']);
  assert.equal(set.code, 0, set.err);
  assert.match(set.out, /^catalog: fault \S+ set: http 'GET \/v1\/products' error 50%, expires in 2m/);

  const list = await run(['list', 'catalog']);
  assert.equal(list.code, 0, list.err);
  assert.match(list.out, /^SERVICE +ID +KIND +TARGET +FAULT +EXPIRES$/m);
  assert.match(list.out, /^catalog +\S+ +http +GET \/v1\/products +error 50% +in (2m|1m59s)$/m);

  const id = rules[0]?.id as string;
  assert.equal((await run(['clear', 'catalog', '--id', id])).code, 0);
  assert.equal(rules.length, 0);
  const again = await run(['clear', 'catalog', '--id', id]);
  assert.equal(again.code, 1);
  assert.match(again.err, /no service had the rule/);
  assert.match((await run(['list', 'catalog'])).out, /no active fault rules on catalog/);
});

test('an unreachable service is named and exits 1; bad input exits 2 with the usage', async () => {
  const env = {
    ADMIN_TOKEN: 't0k',
    SHOPLAB_STATE: '/nonexistent',
    SHOPLAB_CATALOG_URL: base,
    SHOPLAB_ORDER_URL: 'http://127.0.0.1:1',
  };
  let err = '';
  const code = await chaosCommand(['list', 'catalog', 'order'], { env, out: () => {}, err: (t) => (err += t) });
  assert.equal(code, 1);
  assert.match(err, /^shopctl chaos list: order: GET http:\/\/127\.0\.0\.1:1\/admin\/chaos failed/m);

  const wrongToken = await run(['set', 'cart', 'grpc', '*', 'fail'], 'nope');
  assert.equal(wrongToken.code, 1);
  assert.match(wrongToken.err, /cart: PUT .* answered 401 \(SHOP_UNAUTHENTICATED/);

  const bad = await run(['set', 'cart', 'grpc', '*', 'explode']);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /unknown fault 'explode'/);
  assert.match(bad.err, /usage: shopctl chaos set/);
  assert.equal((await run(['clear', '--id', 'not-a-uuid'])).code, 2);
  assert.equal((await run(['frob'])).code, 2);
});
