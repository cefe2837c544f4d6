import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Strangler } from '../../src/application/strangler';
import { nativeQuote } from '../../src/domain/native-rates';

const start = { nativeShare: { quote: 0, create: 0 }, shadow: false, nativeQuoteSkewCents: 0 };

describe('strangler facade', () => {
  it('routes each operation by its own share', () => {
    let r = 0;
    const s = new Strangler(start, () => r);
    assert.equal(s.route('quote'), 'legacy');
    s.update({ nativeShare: { quote: 50 } });
    r = 0.49;
    assert.equal(s.route('quote'), 'native');
    r = 0.5;
    assert.equal(s.route('quote'), 'legacy');
    assert.equal(s.route('create'), 'legacy', 'create keeps its own share (0)');
    s.update({ nativeShare: { quote: 100 } });
    r = 0.999;
    assert.equal(s.route('quote'), 'native');
  });

  it('sends about the share to native over many calls', () => {
    const s = new Strangler({ ...start, nativeShare: { quote: 30, create: 0 } });
    let native = 0;
    for (let i = 0; i < 10_000; i++) if (s.route('quote') === 'native') native++;
    assert.ok(native > 2_500 && native < 3_500, `${native} of 10000`);
  });

  it('clamps shares, and rolls back at once: all legacy, shadow off', () => {
    const s = new Strangler(start);
    assert.deepEqual(s.update({ nativeShare: { quote: 150, create: -3 }, shadow: true }).nativeShare, {
      quote: 100,
      create: 0,
    });
    const after = s.rollback();
    assert.deepEqual(after.nativeShare, { quote: 0, create: 0 });
    assert.equal(after.shadow, false);
    assert.equal(s.route('quote'), 'legacy');
  });

  it('does not let a caller change its state through status()', () => {
    const s = new Strangler(start);
    s.status().nativeShare.quote = 100;
    assert.equal(s.status().nativeShare.quote, 0);
  });
});

describe('native rates', () => {
  it('charge the legacy tariff in cents per started kilogram, plus a seeded skew', () => {
    assert.deepEqual(nativeQuote({ destinationCountry: 'CA', weightGrams: 2500 }), {
      price: { amount: 1899, currency: 'USD' },
      transitDays: 5,
    });
    assert.equal(nativeQuote({ destinationCountry: 'US', weightGrams: 1000 }).price.amount, 649);
    assert.equal(nativeQuote({ destinationCountry: 'US', weightGrams: 1001 }, 7).price.amount, 806);
    assert.throws(() => nativeQuote({ destinationCountry: 'ZZ', weightGrams: 1 }), /not served/);
  });
});
