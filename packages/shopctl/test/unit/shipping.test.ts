import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseComparisons } from '../../src/shipping';

describe('shopctl shipping', () => {
  it('reads the shadow comparisons of quotes from the Prometheus text, per result', () => {
    const text = [
      '# HELP shipping_shadow_comparisons_total Shadowed quotes compared',
      '# TYPE shipping_shadow_comparisons_total counter',
      'shipping_shadow_comparisons_total{operation="quote",result="same",service="shipping",instance_id="a"} 88',
      'shipping_shadow_comparisons_total{operation="quote",result="different",service="shipping",instance_id="a"} 2',
      'shipping_shadow_comparisons_total{operation="create",result="different",service="shipping",instance_id="a"} 9',
      'shipping_backend_calls_total{operation="quote",backend="legacy",outcome="ok"} 5',
    ].join('\n');
    assert.deepEqual(parseComparisons(text), { same: 88, different: 2, shadow_failed: 0 });
    assert.deepEqual(parseComparisons(''), { same: 0, different: 0, shadow_failed: 0 });
  });
});
