// The storefront's typed API client (ui/src/api/gateway.gen.ts) must be what the gateway's
// OpenAPI document says today: a route or field the gateway changed fails here, before a
// shopper's browser meets it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';

// This file runs from services/web/dist/test/unit.
const script = resolve(__dirname, '../../../scripts/api-types.mjs');

test('the generated API types match the gateway’s OpenAPI document', async () => {
  const { generatedTypes, GENERATED } = (await import(pathToFileURL(script).href)) as {
    generatedTypes: () => Promise<string>;
    GENERATED: string;
  };
  const expected = await generatedTypes();
  assert.match(expected, /"\/api\/v1\/orders\/\{id\}\/events"/, 'the document has the order events stream');
  assert.ok(
    readFileSync(GENERATED, 'utf8') === expected,
    `${GENERATED} is stale: run npm run -w services/web api:types and commit it`,
  );
});
