import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { z } from 'zod';
import { FaultInjector } from '../../src/chaos';
import { ERROR_CODES, type ErrorCode, problemSlug, ShopError } from '../../src/errors';
import { createHttpApp, type HttpApp } from '../../src/http';
import { findUnstorableText, refusedValueError, unstorableTextReason } from '../../src/input';
import { createMetrics } from '../../src/metrics';
import { problemResponses } from '../../src/openapi';

describe('text a database cannot store', () => {
  test('NUL and unpaired surrogates are named; ordinary and astral text is fine', () => {
    assert.match(unstorableTextReason('a\u0000b') ?? '', /NUL/);
    assert.match(unstorableTextReason('x\ud800') ?? '', /surrogate/);
    assert.match(unstorableTextReason('\udc00x') ?? '', /surrogate/);
    assert.equal(unstorableTextReason('plain, ünïcödé, 😀 and \ufffd'), undefined);
    assert.equal(unstorableTextReason(''), undefined);
  });

  test('the first bad string is found at any depth, in values and in keys, with its path', () => {
    assert.deepEqual(findUnstorableText({ a: [1, 'ok', { b: 'x\u0000' }] }, 'body'), {
      field: 'body.a.2.b',
      message: 'must not contain NUL (U+0000) characters',
    });
    assert.match(findUnstorableText({ 'k\u0000': 1 }, 'body')?.message ?? '', /a key/);
    assert.equal(findUnstorableText({ a: ['ok', 1, true, null], b: { c: '😀' } }, 'body'), undefined);
    assert.equal(findUnstorableText(undefined, 'query'), undefined);
  });

  test('only parsed text is walked: a stream (a proxied body), a buffer or a class instance is left alone', () => {
    const stream = new PassThrough();
    stream.end('{"a":"x\\u0000"}');
    assert.equal(findUnstorableText(stream, 'body'), undefined);
    assert.equal(findUnstorableText({ raw: Buffer.from('a\u0000b') }, 'body'), undefined);
    assert.equal(findUnstorableText(new Date(), 'body'), undefined);
    // a parsed object without a prototype is still walked
    const bare = Object.assign(Object.create(null) as Record<string, unknown>, { q: 'a\u0000' });
    assert.equal(findUnstorableText(bare, 'query')?.field, 'query.q');
  });
});

describe('the database refusing a value', () => {
  test('Prisma value errors and SQLSTATE class 22 (through the driver adapter) are SHOP_VALIDATION_FAILED', () => {
    const cases: unknown[] = [
      Object.assign(new Error('value too long'), { code: 'P2000', meta: {} }),
      Object.assign(new Error('out of range'), { code: 'P2020' }),
      Object.assign(new Error('raw query failed'), {
        code: 'P2010',
        meta: { driverAdapterError: { cause: { kind: 'postgres', originalCode: '22021' } } },
      }),
      Object.assign(new Error('adapter'), { cause: { kind: 'LengthMismatch' } }),
      Object.assign(new Error('pg'), { code: '22P02' }),
    ];
    for (const err of cases) {
      const mapped = refusedValueError(err);
      assert.ok(mapped instanceof ShopError, String(err));
      assert.equal(mapped.code, 'SHOP_VALIDATION_FAILED');
      assert.equal(mapped.httpStatus, 400);
    }
  });

  test('anything else is left alone: unique violations, lost connections, bugs, ShopErrors', () => {
    const cases: unknown[] = [
      Object.assign(new Error('unique'), { code: 'P2002' }),
      Object.assign(new Error('pg'), { code: '23505' }),
      Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }),
      new TypeError('x is undefined'),
      new ShopError('SHOP_NOT_FOUND'),
      { code: 3, details: 'grpc', metadata: {} },
    ];
    for (const err of cases) assert.equal(refusedValueError(err), undefined, String(err));
  });
});

describe('an HTTP app facing malformed requests', () => {
  let app: HttpApp;
  let handled = 0;

  before(async () => {
    app = await createHttpApp({
      service: 'widgets',
      version: '1.0.0',
      logger: pino({ level: 'silent' }),
      metrics: createMetrics('input-test'),
      chaos: new FaultInjector(),
      adminToken: 'test-admin-token-0123456789',
      rateLimitedPrefix: '/v1',
    });
    app.get(
      '/v1/widgets',
      { schema: { querystring: z.object({ q: z.string().max(100).optional() }) } },
      async (request) => {
        handled++;
        return { q: request.query.q ?? null };
      },
    );
    app.get(
      '/v1/widgets/:id',
      {
        schema: {
          params: z.object({ id: z.string().max(100) }),
          response: { 200: z.object({ id: z.string() }), ...problemResponses(404) },
        },
      },
      async (request) => {
        handled++;
        return { id: request.params.id };
      },
    );
    app.post('/v1/widgets', { schema: { body: z.object({ name: z.string().max(100) }) } }, async (request, reply) => {
      handled++;
      return reply.code(201).send({ name: request.body.name });
    });
    app.post('/v1/stored', { schema: { body: z.object({ name: z.string() }) } }, async () => {
      throw Object.assign(new Error('value too long for type character varying(50)'), { code: 'P2000' });
    });
    app.get('/v1/slow-down', async () => {
      throw new ShopError('SHOP_RATE_LIMITED', 'wait', { retryAfterSeconds: 7 });
    });
    await app.ready();
  });

  after(() => app.close());

  const problem = (res: { statusCode: number; headers: Record<string, unknown>; json: () => unknown }) => {
    assert.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8');
    return res.json() as { code: string; errors?: { field: string }[]; type: string };
  };

  test('NUL or a lone surrogate in a query, a path parameter or a body is a 400 naming the field', async () => {
    const before = handled;
    const requests = [
      { method: 'GET' as const, url: '/v1/widgets?q=a%00b', field: 'query.q' },
      { method: 'GET' as const, url: '/v1/widgets/a%00b', field: 'params.id' },
      { method: 'POST' as const, url: '/v1/widgets', body: '{"name":"a\\u0000b"}', field: 'body.name' },
      { method: 'POST' as const, url: '/v1/widgets', body: '{"name":"a\\ud800b"}', field: 'body.name' },
    ];
    for (const r of requests) {
      const res = await app.inject({
        method: r.method,
        url: r.url,
        ...(r.body ? { payload: r.body, headers: { 'content-type': 'application/json' } } : {}),
      });
      assert.equal(res.statusCode, 400, r.url);
      const body = problem(res);
      assert.equal(body.code, 'SHOP_VALIDATION_FAILED');
      assert.equal(body.errors?.[0]?.field, r.field);
    }
    assert.equal(handled, before, 'no handler saw the bad input');
  });

  test('a URL that does not decode is 400 problem+json, a long path parameter 400 (not 414)', async () => {
    const before = handled;
    for (const url of ['/v1/widgets/%FF', '/v1/widgets?q=%FF%FE', '/v1/widgets?q=%ED%A0%80', '/v1/widgets?%FF=1']) {
      const bad = await app.inject({ method: 'GET', url });
      assert.equal(bad.statusCode, 400, url);
      assert.equal(problem(bad).code, 'SHOP_BAD_REQUEST', url);
    }
    assert.equal(handled, before);
    const fine = await app.inject({ method: 'GET', url: '/v1/widgets?q=caf%C3%A9+au+lait&x' });
    assert.deepEqual(fine.json(), { q: 'café au lait' });
    const long = await app.inject({ method: 'GET', url: `/v1/widgets/${'a'.repeat(300)}` });
    assert.equal(long.statusCode, 400);
    assert.equal(problem(long).code, 'SHOP_VALIDATION_FAILED');
  });

  test('a value the database refuses is 400, not 500', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/stored', payload: { name: 'x'.repeat(60) } });
    assert.equal(res.statusCode, 400);
    assert.equal(problem(res).code, 'SHOP_VALIDATION_FAILED');
  });

  test('a method the path does not have is 405 with Allow; an unknown path 404', async () => {
    for (const method of ['DELETE', 'PUT', 'PATCH', 'OPTIONS'] as const) {
      const res = await app.inject({ method, url: '/v1/widgets/w1' });
      assert.equal(res.statusCode, 405, method);
      assert.equal(res.headers.allow, 'GET, HEAD');
      assert.equal(problem(res).code, 'SHOP_METHOD_NOT_ALLOWED');
    }
    const post = await app.inject({ method: 'DELETE', url: '/v1/widgets?q=1' });
    assert.equal(post.headers.allow, 'GET, HEAD, POST');
    // A body method without Content-Type fails before any handler: still an answer about the route.
    const query = await app.inject({ method: 'QUERY' as 'GET', url: '/v1/widgets' });
    assert.equal(query.statusCode, 405);
    const unknown = await app.inject({ method: 'GET', url: '/v1/nothing-here' });
    assert.equal(unknown.statusCode, 404);
    assert.equal(problem(unknown).code, 'SHOP_ROUTE_NOT_FOUND');
  });

  test('a problem that says how long to wait carries Retry-After', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/slow-down' });
    assert.equal(res.statusCode, 429);
    assert.equal(res.headers['retry-after'], '7');
  });

  test('every code of the error table has a page at its problem type', async () => {
    for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) {
      const type = `/problems/${problemSlug(code)}`;
      const res = await app.inject({ method: 'GET', url: type });
      assert.equal(res.statusCode, 200, type);
      assert.match(String(res.headers['content-type']), /^text\/html/);
      assert.ok(res.body.includes(code), `${type} names ${code}`);
      assert.ok(res.body.includes(String(ERROR_CODES[code].http)), `${type} gives the HTTP status`);
    }
    const index = await app.inject({ method: 'GET', url: '/problems' });
    assert.equal(index.statusCode, 200);
    for (const code of Object.keys(ERROR_CODES)) assert.ok(index.body.includes(code), code);
    const unknown = await app.inject({ method: 'GET', url: '/problems/no-such-thing' });
    assert.equal(unknown.statusCode, 400);
    // And the type of an actual problem resolves to its page.
    const notFound = await app.inject({ method: 'GET', url: '/v1/nothing' });
    const page = await app.inject({ method: 'GET', url: problem(notFound).type });
    assert.equal(page.statusCode, 200);
    assert.ok(page.body.includes('SHOP_ROUTE_NOT_FOUND'));
  });

  test('the OpenAPI document lists the problem answers of every operation', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
    assert.ok(doc.components.schemas.Problem, 'a shared Problem schema');
    type Op = { responses: Record<string, { content?: Record<string, unknown>; headers?: Record<string, unknown> }> };
    const ops = Object.entries(doc.paths as Record<string, Record<string, Op>>).flatMap(([path, item]) =>
      Object.entries(item).map(([method, op]) => ({ path, method, op })),
    );
    assert.ok(ops.length > 5);
    for (const { path, method, op } of ops) {
      for (const status of ['400', '503']) {
        const response = op.responses[status];
        assert.ok(response, `${method} ${path} documents ${status}`);
        if (path !== '/readyz')
          assert.ok(response.content?.['application/problem+json'], `${method} ${path} ${status}`);
      }
      if (path.startsWith('/v1')) {
        assert.ok(op.responses['429']?.headers?.['Retry-After'], `${method} ${path} 429 with Retry-After`);
      }
    }
    const widget = doc.paths['/v1/widgets/{id}'].get as Op;
    assert.ok(widget.responses['404']?.content?.['application/problem+json'], 'a route’s own 404 is problem+json');
    const post = doc.paths['/v1/widgets'].post as Op;
    assert.ok(post.responses['413'] && post.responses['415'], 'a body can be too large or of the wrong type');
    const admin = doc.paths['/admin/chaos'].get as Op;
    assert.ok(admin.responses['401'] && admin.responses['403'], 'the admin token can be missing or wrong');
  });
});
