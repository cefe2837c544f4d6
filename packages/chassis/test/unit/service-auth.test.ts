import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { grpcParticipants } from '../../src/config';
import { ShopError } from '../../src/errors';
import { requireCallUser } from '../../src/service-auth';

const ada = { id: 'user-ada', email: 'ada@example.com', name: 'Ada' };
const code = (expected: string) => (err: unknown) => err instanceof ShopError && err.code === expected;

test('requireCallUser: the gateway must name the user with that user’s token; a service acting on its own need not', () => {
  const gateway = { caller: 'gateway', actsForUser: true };
  assert.doesNotThrow(() => requireCallUser({ ...gateway, user: ada }, ada.id));
  assert.throws(() => requireCallUser({ ...gateway, user: ada }, 'user-bob'), code('SHOP_FORBIDDEN'));
  assert.throws(() => requireCallUser({ ...gateway, user: undefined }, ada.id), code('SHOP_UNAUTHENTICATED'));
  // The order service's saga reads the cart after the user's request has ended.
  assert.doesNotThrow(() => requireCallUser({ caller: 'order', actsForUser: false, user: undefined }, ada.id));
  // A server that checks no credentials (no keys: development, tests) checks no user either.
  assert.doesNotThrow(() => requireCallUser(undefined, ada.id));
});

test('the services that get a key pair (scripts/lib/secrets.sh, from k8s/allowed-callers.yaml) are the gRPC table’s', () => {
  const root = resolve(__dirname, '../../../../..');
  const keyed = execFileSync(
    'bash',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: bash's own ${array[@]}
    ['-c', 'source scripts/lib/secrets.sh && printf "%s\\n" "${SHOPLAB_KEYED_SERVICES[@]}"'],
    { cwd: root, encoding: 'utf8' },
  )
    .split('\n')
    .filter(Boolean);
  assert.deepEqual(keyed, [...grpcParticipants()].sort());
});
