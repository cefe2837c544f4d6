import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, generateKeyPairSetting, loadConfig, ShopError } from '@shoplab/chassis';
import { configSchema } from '../../src/config';
import { problemToShopError } from '../../src/infrastructure/http-client';

const secrets = { JWT_PUBLIC_KEY: generateKeyPairSetting().publicKey, ADMIN_TOKEN: 'y'.repeat(32) };

test('the gateway runs with only its secrets set, on 8080, with every downstream at its local port', () => {
  const config = loadConfig(configSchema, secrets);
  assert.equal(config.SERVICE_NAME, 'gateway');
  assert.equal(config.HTTP_PORT, 8080);
  assert.deepEqual(config.STATIC_SERVICES.catalog, ['127.0.0.1:9082']);
  assert.deepEqual(config.HTTP_SERVICES.cart, ['127.0.0.1:8083']);
  assert.equal(config.RATE_LIMIT_PER_MINUTE, 600);
  assert.equal(config.PRODUCT_CACHE_TTL_MS, 60_000);
});

test('a missing user-token public key or admin token stops the start with a readable message', () => {
  assert.throws(
    () => loadConfig(configSchema, {}),
    (err: unknown) =>
      err instanceof ConfigError && /JWT_PUBLIC_KEY/.test(err.message) && /ADMIN_TOKEN/.test(err.message),
  );
});

test('HTTP_SERVICES takes several instances of a service and refuses a malformed entry', () => {
  const config = loadConfig(configSchema, { ...secrets, HTTP_SERVICES: 'cart=10.0.0.1:8083,cart=10.0.0.2:8083' });
  assert.deepEqual(config.HTTP_SERVICES.cart, ['10.0.0.1:8083', '10.0.0.2:8083']);
  assert.throws(() => loadConfig(configSchema, { ...secrets, HTTP_SERVICES: 'cart' }), ConfigError);
});

test('a downstream problem becomes the same ShopError, extra members included', () => {
  const err = problemToShopError(
    409,
    { type: 'x', title: 't', status: 409, code: 'SHOP_OUT_OF_STOCK', detail: 'only 2 left', productId: 'p1' },
    'cart',
  );
  assert.ok(err instanceof ShopError);
  assert.equal(err.code, 'SHOP_OUT_OF_STOCK');
  assert.equal(err.message, 'only 2 left');
  assert.deepEqual(err.details, { productId: 'p1' });
});

test('an error answer that is not a problem document maps by status', () => {
  assert.equal(problemToShopError(404, 'Not Found', 'cart').code, 'SHOP_NOT_FOUND');
  assert.equal(problemToShopError(502, undefined, 'cart').code, 'SHOP_DEPENDENCY_UNAVAILABLE');
});
