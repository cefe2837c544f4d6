// The card network's rules: the test cards' answers, and a key that returns its first answer.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CardNetwork, KeyReusedError } from '../../src/network';

const visa = { pan: '4242424242424242', expMonth: 12, expYear: 2030, amount: 1999, currency: 'USD' };

describe('card network', () => {
  it('approves a good card and declines the test cards with their codes', () => {
    const n = new CardNetwork(10);
    assert.deepEqual(
      [n.authorize('a', visa), n.authorize('b', { ...visa, pan: '4000000000000002' })].map((a) => a.responseCode),
      ['00', '05'],
    );
    const poor = n.authorize('c', { ...visa, pan: '4000000000009995' });
    assert.equal(poor.approved, false);
    assert.equal(poor.responseCode, '51');
    assert.deepEqual(n.stats, { authorizations: 3, approved: 1, declined: 2, replays: 0 });
  });

  it('answers a retried key with the same authorization, once decided', () => {
    const n = new CardNetwork(10);
    const first = n.authorize('k', visa);
    const again = n.authorize('k', visa);
    assert.equal(again.authorizationId, first.authorizationId);
    assert.equal(again.replayed, true);
    assert.equal(first.replayed, false);
    assert.deepEqual(n.stats, { authorizations: 1, approved: 1, declined: 0, replays: 1 });
  });

  it('refuses a key sent before with another amount', () => {
    const n = new CardNetwork(10);
    n.authorize('k', visa);
    assert.throws(() => n.authorize('k', { ...visa, amount: 1 }), KeyReusedError);
  });

  it('forgets the oldest key past its capacity', () => {
    const n = new CardNetwork(2);
    const first = n.authorize('k1', visa);
    n.authorize('k2', visa);
    n.authorize('k3', visa);
    assert.notEqual(n.authorize('k1', visa).authorizationId, first.authorizationId);
  });
});
