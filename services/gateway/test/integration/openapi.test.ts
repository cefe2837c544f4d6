// The gateway's OpenAPI tells the truth about its errors, and a downstream's refusal is never
// counted against it: what the served document promises is checked here against the gateway
// itself (wired to the fakes); scripts/fuzz-api.sh checks it against the running shop.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ERROR_CODES, type ErrorCode, problemSlug } from '@shoplab/chassis';
import { admin, bearer, type Gateway, product, startGateway, startWorld, type World } from '../support/harness';

let world: World;
let gw: Gateway;

interface Response {
  content?: Record<string, { schema?: unknown }>;
  headers?: Record<string, unknown>;
}
interface Operation {
  security?: Record<string, unknown>[];
  parameters?: { in: string; name: string; schema?: { maxLength?: number; enum?: unknown[] } }[];
  requestBody?: unknown;
  responses: Record<string, Response>;
}
type Doc = { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, unknown> } };

let doc: Doc;
const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

before(async () => {
  world = await startWorld();
  // Real thresholds: a breaker that would open after 5 failures in its window.
  gw = await startGateway(world, {}, { breaker: { volumeThreshold: 5, errorThresholdPercentage: 50 } });
  doc = (await gw.app.inject({ url: '/openapi.json' })).json();
});

after(async () => {
  await gw.close();
  await world.close();
});

const operations = () =>
  Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => METHODS.includes(method))
      .map(([method, op]) => ({ path, method, op, label: `${method.toUpperCase()} ${path}` })),
  );

const isProblem = (r: Response | undefined) =>
  (r?.content?.['application/problem+json']?.schema as { $ref?: string } | undefined)?.$ref ===
  '#/components/schemas/Problem';

test('every operation documents its problem answers as application/problem+json', () => {
  assert.ok(doc.components.schemas.Problem);
  const ops = operations();
  assert.ok(ops.length >= 20, `${ops.length} operations`);
  for (const { path, op, label } of ops) {
    assert.ok(isProblem(op.responses['400']), `${label}: 400`);
    if (path !== '/readyz') assert.ok(isProblem(op.responses['503']), `${label}: 503`);
    const schemes = (op.security ?? []).flatMap((s) => Object.keys(s));
    if (schemes.length > 0) assert.ok(isProblem(op.responses['401']), `${label}: 401`);
    if (schemes.includes('adminToken')) assert.ok(isProblem(op.responses['403']), `${label}: 403`);
    if (op.requestBody) assert.ok(isProblem(op.responses['413']) && isProblem(op.responses['415']), label);
    if (path.startsWith('/api/v1/')) {
      assert.ok(isProblem(op.responses['429']), `${label}: 429`);
      assert.ok(op.responses['429']?.headers?.['Retry-After'], `${label}: 429 with Retry-After`);
    }
    if (path.startsWith('/api/v1/') && !path.startsWith('/api/v1/admin/')) {
      assert.ok(isProblem(op.responses['504']), `${label}: 504 (a downstream’s deadline)`);
    }
  }
  const responses = (label: string) => {
    const [method, path] = label.split(' ') as [string, string];
    return Object.keys(doc.paths[path]?.[method.toLowerCase()]?.responses ?? {});
  };
  assert.ok(responses('GET /api/v1/products/{id}').includes('404'));
  assert.ok(responses('POST /api/v1/auth/register').includes('409'));
  assert.ok(responses('POST /api/v1/auth/login').includes('401'));
  for (const status of ['409', '422']) assert.ok(responses('POST /api/v1/checkout').includes(status), status);
  for (const status of ['404', '409']) assert.ok(responses('POST /api/v1/cart/items').includes(status), status);
});

test('a path parameter longer than its maxLength is 400 (not 414); a method a path lacks is 405 with Allow', async () => {
  let longParams = 0;
  let lackingPaths = 0;
  for (const { path, method, op, label } of operations()) {
    for (const param of op.parameters ?? []) {
      if (param.in !== 'path' || param.schema?.maxLength === undefined) continue;
      longParams++;
      const url = path.replace(`{${param.name}}`, 'x'.repeat(param.schema.maxLength + 1)).replace(/\{[^}]+\}/g, 'x');
      const res = await gw.app.inject({
        method: method.toUpperCase() as 'GET',
        url,
        headers: { ...bearer('u1'), ...(path.includes('/admin/') ? admin : {}) },
        ...(op.requestBody ? { payload: {} } : {}),
      });
      assert.equal(res.statusCode, 400, `${label} with ${param.name} too long: ${res.body}`);
      assert.equal(res.json().code, 'SHOP_VALIDATION_FAILED');
    }
  }
  for (const [path, item] of Object.entries(doc.paths)) {
    const documented = Object.keys(item).filter((m) => METHODS.includes(m));
    const missing = METHODS.find((m) => !documented.includes(m));
    if (!missing) continue;
    lackingPaths++;
    const url = path.replace(/\{slug\}/, 'not-found').replace(/\{[^}]+\}/g, 'x');
    const res = await gw.app.inject({ method: missing.toUpperCase() as 'GET', url });
    assert.equal(res.statusCode, 405, `${missing.toUpperCase()} ${path}: ${res.body}`);
    const allow = String(res.headers.allow).split(', ');
    for (const m of documented) assert.ok(allow.includes(m.toUpperCase()), `${path}: Allow lists ${m}`);
    assert.equal(res.json().code, 'SHOP_METHOD_NOT_ALLOWED');
  }
  assert.ok(longParams >= 5, `${longParams} path parameters with a maxLength`);
  assert.ok(lackingPaths >= 15, `${lackingPaths} paths`);
});

test('/problems/<slug> answers for every code of the error table, and a problem’s type leads to its page', async () => {
  for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) {
    const res = await gw.app.inject({ url: `/problems/${problemSlug(code)}` });
    assert.equal(res.statusCode, 200, code);
    assert.match(String(res.headers['content-type']), /^text\/html/);
    assert.ok(res.body.includes(code) && res.body.includes(ERROR_CODES[code].title.replaceAll("'", '&#39;')), code);
  }
  const missing = await gw.app.inject({ url: '/api/v1/products/nothing-like-it' });
  assert.equal(missing.statusCode, 404);
  const page = await gw.app.inject({ url: missing.json().type });
  assert.equal(page.statusCode, 200);
  assert.ok(page.body.includes('SHOP_NOT_FOUND'));
});

test('a burst of refused requests leaves every breaker closed, and the next normal request is served', async () => {
  world.state.products.set('p1', product('p1'));
  const refused = [
    ...Array.from({ length: 20 }, (_, i) => ({ method: 'GET' as const, url: `/api/v1/products/missing-${i}` })),
    ...Array.from({ length: 10 }, () => ({ method: 'GET' as const, url: '/api/v1/products?q=a%00b' })),
    ...Array.from({ length: 10 }, () => ({
      method: 'POST' as const,
      url: '/api/v1/auth/login',
      payload: { email: 'nobody@example.com', password: 'wrong password' },
    })),
  ];
  for (const r of refused) {
    const res = await gw.app.inject(r);
    assert.ok(res.statusCode >= 400 && res.statusCode < 500, `${r.method} ${r.url}: ${res.statusCode} ${res.body}`);
  }
  for (const row of gw.kit.breakers.list()) {
    assert.equal(row.state, 'closed', `${row.caller}→${row.target}`);
    assert.equal(row.stats.failures, 0, `${row.caller}→${row.target} counted a refusal as a failure`);
  }
  const ok = await gw.app.inject({ url: '/api/v1/products/p1' });
  assert.equal(ok.statusCode, 200, ok.body);
});
