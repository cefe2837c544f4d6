// The OpenAPI document tells the truth about errors: every operation lists the problem+json
// answers it can give (from the route's own `response` schemas plus those every route of a
// service can give), 429 carries Retry-After, and each problem `type` is a page served at
// `/problems/<slug>`, generated from the one error table (errors.ts).
import { z } from 'zod';
import { ERROR_CODES, type ErrorCode, GrpcStatus, problemSlug, problemTypeOf } from './errors';
import type { HttpApp } from './http-app';

/** The problem document of every error answer (RFC 9457), as a zod schema for route `response`s. */
export const problemSchema = z
  .object({
    type: z.string().describe('a page explaining the code: `/problems/<slug>`, relative to the service that answered'),
    title: z.string(),
    status: z.number().int(),
    code: z.string().describe('stable error code, e.g. SHOP_OUT_OF_STOCK'),
    detail: z.string().optional(),
    instance: z.string().optional(),
  })
  .loose()
  .describe('RFC 9457 problem details (application/problem+json)');

/**
 * Route `response` entries for error statuses: `response: { 200: page, ...problemResponses(404, 409) }`.
 * The OpenAPI document lists them as application/problem+json.
 */
export function problemResponses<S extends number>(...statuses: S[]): Record<S, typeof problemSchema> {
  return Object.fromEntries(statuses.map((s) => [s, problemSchema])) as Record<S, typeof problemSchema>;
}

// ---------------------------------------------------------------------------------------
// Which methods a path has (405 with Allow)

/** Every route's method by URL pattern, to tell "no such path" (404) from "no such method" (405). */
export class RouteTable {
  private readonly routes = new Map<string, { pattern: RegExp; methods: Set<string> }>();

  add(url: string, method: string | string[]): void {
    let route = this.routes.get(url);
    if (!route) {
      route = { pattern: patternOf(url), methods: new Set() };
      this.routes.set(url, route);
    }
    for (const m of Array.isArray(method) ? method : [method]) route.methods.add(m.toUpperCase());
  }

  /** The methods of the routes whose pattern matches `url` (its path; the query is ignored), sorted. */
  methodsOf(url: string): string[] {
    const path = url.split('?')[0] ?? url;
    const methods = new Set<string>();
    for (const route of this.routes.values()) {
      if (route.pattern.test(path)) for (const m of route.methods) methods.add(m);
    }
    return [...methods].sort();
  }
}

/** A fastify URL pattern (`/orders/:id`, `/docs/*`) as a regular expression over request paths. */
function patternOf(url: string): RegExp {
  let source = '';
  for (const [, param, star, literal] of url.matchAll(/(:[A-Za-z0-9_]+(?:\([^)]*\))?)|(\*)|([^:*]+)/g)) {
    if (param) source += '[^/]+';
    else if (star) source += '.*';
    else if (literal) source += literal.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

// ---------------------------------------------------------------------------------------
// Problem pages

const STATUS_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(GrpcStatus).map(([name, code]) => [code, name]),
);

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

/** Inline code spans (`…`) of the table's prose as <code>. */
const prose = (text: string) => escapeHtml(text).replace(/`([^`]+)`/g, '<code>$1</code>');

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>${escapeHtml(title)} · ShopLab</title></head>
<body>
${body}
</body>
</html>
`;
}

/** The page explaining one code: what `type: /problems/<slug>` points at. */
export function problemPage(code: ErrorCode): string {
  const spec = ERROR_CODES[code];
  return page(
    spec.title,
    `<h1>${escapeHtml(spec.title)}</h1>
<dl>
<dt>code</dt><dd><code>${code}</code></dd>
<dt>type</dt><dd><code>${problemTypeOf(code)}</code></dd>
<dt>HTTP status</dt><dd>${spec.http}</dd>
<dt>gRPC status</dt><dd>${STATUS_NAMES[spec.grpc] ?? spec.grpc}</dd>
</dl>
<p>${prose(spec.about)}</p>
<p>Answers with this code are <code>application/problem+json</code> (RFC 9457): <code>type</code>, <code>title</code>, <code>status</code>, <code>code</code>, <code>detail</code>, <code>instance</code>, and the members named above.</p>
<p><a href="${PROBLEMS_PATH}">Every problem type</a></p>`,
  );
}

/** The index of every code, by HTTP status. */
export function problemIndexPage(): string {
  const rows = (Object.keys(ERROR_CODES) as ErrorCode[])
    .sort((a, b) => ERROR_CODES[a].http - ERROR_CODES[b].http || a.localeCompare(b))
    .map(
      (code) =>
        `<tr><td>${ERROR_CODES[code].http}</td><td><a href="${problemTypeOf(code)}"><code>${code}</code></a></td><td>${escapeHtml(ERROR_CODES[code].title)}</td></tr>`,
    )
    .join('\n');
  return page(
    'Problem types',
    `<h1>Problem types</h1>
<p>Every error answer of the shop is <code>application/problem+json</code> with one of these stable codes.</p>
<table>
<thead><tr><th>HTTP</th><th>code</th><th>title</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>`,
  );
}

const PROBLEMS_PATH = '/problems';
const slugs = (Object.keys(ERROR_CODES) as ErrorCode[]).map(problemSlug);
const codeBySlug = new Map((Object.keys(ERROR_CODES) as ErrorCode[]).map((code) => [problemSlug(code), code]));

/** `GET /problems` and `GET /problems/<slug>` (HTML), from the error table. */
export function problemPageRoutes(app: HttpApp): void {
  const html = 'text/html; charset=utf-8';
  app.get(
    PROBLEMS_PATH,
    { schema: { tags: ['problems'], summary: 'Every problem type (HTML)' } },
    async (_request, reply) => reply.type(html).send(problemIndexPage()),
  );
  app.get(
    `${PROBLEMS_PATH}/:slug`,
    {
      schema: {
        tags: ['problems'],
        summary: 'The page a problem’s `type` points at: what the code means and what to do (HTML)',
        params: z.object({ slug: z.enum(slugs as [string, ...string[]]) }),
      },
    },
    async (request, reply) => reply.type(html).send(problemPage(codeBySlug.get(request.params.slug) as ErrorCode)),
  );
}

// ---------------------------------------------------------------------------------------
// Completing the document

/** The parts of an OpenAPI 3.1 document this module reads and writes. */
export interface OpenApiDocument {
  paths?: Record<string, Record<string, OpenApiOperation | unknown>>;
  components?: Record<string, Record<string, unknown>>;
  [key: string]: unknown;
}

interface OpenApiOperation {
  security?: Record<string, unknown>[];
  requestBody?: unknown;
  responses?: Record<string, OpenApiResponse>;
  [key: string]: unknown;
}

interface OpenApiResponse {
  description?: string;
  content?: Record<string, { schema?: Record<string, unknown> }>;
  headers?: Record<string, unknown>;
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head', 'trace'];
const PROBLEM_REF = { $ref: '#/components/schemas/Problem' };
const RETRY_AFTER_REF = { $ref: '#/components/headers/Retry-After' };

/** `Bad request: SHOP_VALIDATION_FAILED, SHOP_BAD_REQUEST, …`: the codes the table gives this status. */
function describeStatus(status: number): string {
  const codes = (Object.keys(ERROR_CODES) as ErrorCode[]).filter((c) => ERROR_CODES[c].http === status);
  const titles = codes.map((c) => ERROR_CODES[c].title);
  return codes.length > 0
    ? `${titles[0]} (problem+json; code ${codes.join(', ')}; pages at /problems/<slug>)`
    : 'problem+json';
}

function isProblemSchema(schema: Record<string, unknown> | undefined): boolean {
  const properties = schema?.properties as Record<string, unknown> | undefined;
  return !!properties && 'code' in properties && 'title' in properties && 'type' in properties;
}

function problemResponse(status: number): OpenApiResponse {
  return {
    description: describeStatus(status),
    content: { 'application/problem+json': { schema: PROBLEM_REF } },
    // 429 always says when to retry; a 503 does when it knows (a full bulkhead, a busy checkout).
    ...(status === 429 || status === 503 ? { headers: { 'Retry-After': RETRY_AFTER_REF } } : {}),
  };
}

/** What every string of a request may not hold (input.ts refuses it), in JSON Schema terms. */
export const NO_NUL_PATTERN = '^[^\\u0000]*$';

type JsonSchema = Record<string, unknown>;

/**
 * Says in the request schemas what the app enforces for every string (input.ts): no NUL. A
 * string schema without a pattern, enum or const gets NO_NUL_PATTERN; one with its own
 * pattern must exclude NUL itself (the routes' patterns do).
 */
function forbidNul(schema: unknown, depth = 0): void {
  if (typeof schema !== 'object' || schema === null || depth > 32) return;
  if (Array.isArray(schema)) {
    for (const s of schema) forbidNul(s, depth + 1);
    return;
  }
  const s = schema as JsonSchema;
  const types = Array.isArray(s.type) ? s.type : [s.type];
  if (types.includes('string') && s.pattern === undefined && s.enum === undefined && s.const === undefined) {
    s.pattern = NO_NUL_PATTERN;
  }
  for (const key of ['items', 'additionalProperties', 'not']) forbidNul(s[key], depth + 1);
  for (const key of ['anyOf', 'oneOf', 'allOf', 'prefixItems']) forbidNul(s[key], depth + 1);
  if (typeof s.properties === 'object' && s.properties !== null) {
    for (const p of Object.values(s.properties as Record<string, unknown>)) forbidNul(p, depth + 1);
  }
}

export interface CompleteOpenApiOptions {
  /** Operations under this path prefix are rate limited: 429 with Retry-After. */
  rateLimitedPrefix?: string;
}

/**
 * Adds what every operation can answer to the generated document: 400 (a URL that does not
 * decode, text no database stores, a failing schema), 503 (not ready, shutting down, a fault
 * injected, a dependency down); 401 where a token is required, 403 where it is the admin
 * token; 413 and 415 where there is a body; 429 with Retry-After under the rate-limited prefix
 * (503 may carry Retry-After too).
 * A route's own problem responses become application/problem+json with the shared schema,
 * and request strings say they may not hold NUL.
 */
export function completeOpenApi(doc: OpenApiDocument, options: CompleteOpenApiOptions = {}): OpenApiDocument {
  doc.components ??= {};
  doc.components.schemas = { ...doc.components.schemas, Problem: z.toJSONSchema(problemSchema, { io: 'output' }) };
  delete (doc.components.schemas.Problem as Record<string, unknown>).$schema;
  doc.components.headers = {
    ...doc.components.headers,
    'Retry-After': {
      description: 'Seconds to wait before trying again',
      schema: { type: 'integer', minimum: 0 },
    },
  };
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const method of METHODS) {
      const op = item[method] as OpenApiOperation | undefined;
      if (!op) continue;
      for (const parameter of (op.parameters as { schema?: unknown }[] | undefined) ?? []) forbidNul(parameter.schema);
      const body = op.requestBody as { content?: Record<string, { schema?: unknown }> } | undefined;
      for (const media of Object.values(body?.content ?? {})) forbidNul(media.schema);
      op.responses ??= {};
      const responses: Record<string, OpenApiResponse> = op.responses;
      for (const [status, response] of Object.entries(responses)) {
        const code = Number(status);
        const schema = response.content?.['application/json']?.schema;
        if (code >= 400 && isProblemSchema(schema)) responses[status] = problemResponse(code);
      }
      if (path.startsWith(PROBLEMS_PATH) && responses['200']) {
        responses['200'] = { description: 'An HTML page', content: { 'text/html': { schema: { type: 'string' } } } };
      }
      const add = (status: number) => {
        responses[String(status)] ??= problemResponse(status);
      };
      add(400);
      add(503);
      const schemes = (op.security ?? []).flatMap((s) => Object.keys(s));
      if (schemes.length > 0) add(401);
      if (schemes.includes('adminToken')) add(403);
      if (op.requestBody) {
        add(413);
        add(415);
      }
      if (options.rateLimitedPrefix && path.startsWith(options.rateLimitedPrefix)) add(429);
    }
  }
  return doc;
}
