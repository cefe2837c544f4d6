import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError } from '../../src/command';
import { parseInstant, paymentCommand } from '../../src/payment';

test('--at is an ISO 8601 instant with its offset, or a duration meaning that long ago', () => {
  const now = new Date('2026-12-05T17:00:00.000Z');
  assert.equal(parseInstant('2026-12-05T16:00:00Z', now).toISOString(), '2026-12-05T16:00:00.000Z');
  assert.equal(parseInstant('2026-12-05T18:30:00.250+02:00', now).toISOString(), '2026-12-05T16:30:00.250Z');
  assert.equal(parseInstant('10m', now).toISOString(), '2026-12-05T16:50:00.000Z');
  assert.equal(parseInstant('90s', now).toISOString(), '2026-12-05T16:58:30.000Z');
  for (const bad of ['yesterday', '2026-12-05', '2026-12-05T16:00:00', '2026-13-45T99:00:00Z', '-10m']) {
    assert.throws(() => parseInstant(bad, now), UsageError, bad);
  }
});

test('shopctl payment: bad input is exit 2 with the usage, before any call', async () => {
  const run = async (argv: string[]) => {
    let err = '';
    const code = await paymentCommand(argv, {
      env: { ADMIN_TOKEN: 't', SHOPLAB_PAYMENT_URL: 'http://127.0.0.1:1' },
      out: () => {},
      err: (t) => {
        err += t;
      },
    });
    return { code, err };
  };
  assert.equal((await run([])).code, 2);
  assert.match((await run(['balance', '--at', 'soon'])).err, /--at must be/);
  assert.equal((await run(['events'])).code, 2);
  assert.equal((await run(['rebuild', '--at', '10m'])).code, 2);
  assert.equal((await run(['replay'])).code, 2);
  // A well-formed call to a payment service that is not there: exit 1, not 2.
  assert.equal((await run(['balance'])).code, 1);
});
