import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ShopError } from '@shoplab/chassis';
import { CHECKOUT_MODES, CheckoutModeSwitch, isCheckoutMode } from '../../src/domain/checkout-mode';

test('the switch starts at its configured mode and moves between the modes it runs', () => {
  const modes = new CheckoutModeSwitch('orchestrated', ['orchestrated', 'choreographed']);
  assert.equal(modes.mode, 'orchestrated');
  assert.equal(modes.set('choreographed'), 'choreographed');
  assert.equal(modes.mode, 'choreographed');
  assert.deepEqual(modes.modes, ['orchestrated', 'choreographed']);
});

test('a mode nothing runs is refused with 409 and the switch keeps its mode', () => {
  const modes = new CheckoutModeSwitch('orchestrated', ['orchestrated']);
  assert.throws(
    () => modes.set('two-phase'),
    (err: unknown) => err instanceof ShopError && err.code === 'SHOP_CONFLICT' && /two-phase/.test(err.message),
  );
  assert.equal(modes.mode, 'orchestrated');
});

test('a configured default that is not runnable stops the service at start', () => {
  assert.throws(() => new CheckoutModeSwitch('choreographed', ['orchestrated']), /CHECKOUT_MODE choreographed/);
});

test('the modes are the three values the orders table allows, and nothing else is one', () => {
  assert.deepEqual([...CHECKOUT_MODES], ['orchestrated', 'choreographed', 'two-phase']);
  for (const mode of CHECKOUT_MODES) assert.ok(isCheckoutMode(mode));
  for (const other of ['', 'Orchestrated', 'saga', 2, undefined]) assert.ok(!isCheckoutMode(other));
});
