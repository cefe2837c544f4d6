import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConsignmentBook, LegacyFault, quote } from '../../src/consignments';

function faultOf(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    assert.ok(err instanceof LegacyFault);
    return err.errorCode;
  }
  assert.fail('expected a legacy fault');
}

describe('legacy quote', () => {
  it('prices by zone and started kilogram, as a decimal string', () => {
    assert.deepEqual(quote({ DestCountry: 'US', WeightKg: '1.2' }), {
      Rate: '7.99',
      CurrencyCode: 'USD',
      TransitDays: 3,
    });
    assert.deepEqual(quote({ DestCountry: 'de', WeightKg: '0.5' }), {
      Rate: '19.49',
      CurrencyCode: 'USD',
      TransitDays: 7,
    });
  });

  it('faults with the legacy codes', () => {
    assert.equal(
      faultOf(() => quote({ DestCountry: 'ZZ', WeightKg: '1' })),
      'E101',
    );
    assert.equal(
      faultOf(() => quote({ DestCountry: 'US', WeightKg: '31' })),
      'E102',
    );
    assert.equal(
      faultOf(() => quote({ DestCountry: 'US', WeightKg: 'heavy' })),
      'E100',
    );
    assert.equal(
      faultOf(() => quote({ WeightKg: '1' })),
      'E100',
    );
  });
});

describe('consignment book', () => {
  it('books SHP numbers, returns the same consignment for the same CustomerRef, moves through its statuses', () => {
    let now = 1_700_000_000_000;
    const book = new ConsignmentBook({ transitAfterMs: 1_000, deliverAfterMs: 5_000, capacity: 10, now: () => now });
    const a = book.book({ CustomerRef: 'order-1', DestCountry: 'US', WeightKg: '2' });
    assert.match(a.ConsignmentNo, /^SHP-\d{6,}$/);
    assert.equal(a.StatusCode, '10');
    assert.equal(a.Rate, '7.99');
    assert.equal(a.LastEventAt, '20231114221320');
    assert.deepEqual(book.book({ CustomerRef: 'order-1', DestCountry: 'US', WeightKg: '2' }), a);
    const b = book.book({ CustomerRef: 'order-2', DestCountry: 'CA', WeightKg: '1' });
    assert.notEqual(b.ConsignmentNo, a.ConsignmentNo);

    now += 1_000;
    assert.equal(book.track({ ConsignmentNo: a.ConsignmentNo }).StatusCode, '20');
    assert.equal(
      faultOf(() => book.cancel({ ConsignmentNo: a.ConsignmentNo })),
      'E300',
    );
    now += 4_000;
    assert.equal(book.track({ ConsignmentNo: a.ConsignmentNo }).StatusText, 'DELIVERED');
  });

  it('cancels a booked consignment once (again: the same answer), and faults on unknown numbers', () => {
    const book = new ConsignmentBook({ transitAfterMs: 60_000, deliverAfterMs: 120_000, capacity: 10 });
    const a = book.book({ CustomerRef: 'order-3', DestCountry: 'GB', WeightKg: '1' });
    assert.equal(book.cancel({ ConsignmentNo: a.ConsignmentNo }).StatusCode, '90');
    assert.equal(book.cancel({ ConsignmentNo: a.ConsignmentNo }).StatusCode, '90');
    assert.equal(
      faultOf(() => book.track({ ConsignmentNo: 'SHP-000001' })),
      'E200',
    );
    assert.equal(
      faultOf(() => book.track({ ConsignmentNo: 'order-3' })),
      'E100',
    );
  });

  it('forgets the oldest consignments beyond its capacity', () => {
    const book = new ConsignmentBook({ transitAfterMs: 60_000, deliverAfterMs: 120_000, capacity: 2 });
    const first = book.book({ CustomerRef: 'r1', DestCountry: 'US', WeightKg: '1' });
    book.book({ CustomerRef: 'r2', DestCountry: 'US', WeightKg: '1' });
    book.book({ CustomerRef: 'r3', DestCountry: 'US', WeightKg: '1' });
    assert.equal(
      faultOf(() => book.track({ ConsignmentNo: first.ConsignmentNo })),
      'E200',
    );
  });
});
