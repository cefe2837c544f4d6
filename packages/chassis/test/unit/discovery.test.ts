import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { baseConfigSchema, loadConfig } from '../../src/config';
import { goDuration, grpcAddressOf, type Instance, RoundRobin, StaticRegistry } from '../../src/discovery';
import { ShopError } from '../../src/errors';

describe('static registry', () => {
  test('serves the addresses of STATIC_SERVICES as instances', async () => {
    const config = loadConfig(baseConfigSchema, {
      SERVICE_NAME: 'order',
      HTTP_PORT: '8085',
      ADMIN_TOKEN: 'x'.repeat(16),
      STATIC_SERVICES: 'catalog=127.0.0.1:9082,catalog=127.0.0.1:9182,payment=payment:9084',
    });
    const registry = new StaticRegistry(config.STATIC_SERVICES);
    assert.deepEqual(await registry.instances('catalog'), [
      { id: 'catalog@127.0.0.1:9082', service: 'catalog', address: '127.0.0.1', port: 9082 },
      { id: 'catalog@127.0.0.1:9182', service: 'catalog', address: '127.0.0.1', port: 9182 },
    ]);
    assert.equal(grpcAddressOf((await registry.instances('payment'))[0]!), 'payment:9084');
    assert.deepEqual(await registry.instances('cart'), []);
  });

  test('register and deregister do nothing', async () => {
    const registry = new StaticRegistry({});
    await registry.register();
    await registry.deregister();
    assert.deepEqual(await registry.instances('order'), []);
  });

  test('watchers hear the current list and each replacement', () => {
    const registry = new StaticRegistry({ catalog: ['127.0.0.1:1'] });
    const seen: string[][] = [];
    const unwatch = registry.watch('catalog', (list) => seen.push(list.map((i) => i.id)));
    registry.set('catalog', ['127.0.0.1:2']);
    unwatch();
    registry.set('catalog', []);
    assert.deepEqual(seen, [['catalog@127.0.0.1:1'], ['catalog@127.0.0.1:2']]);
  });
});

describe('round robin', () => {
  const list: Instance[] = ['a', 'b', 'c'].map((id) => ({ id, service: 's', address: id, port: 1 }));

  test('cycles through the instances of each service independently', () => {
    const rr = new RoundRobin();
    assert.deepEqual(
      [0, 1, 2, 3].map(() => rr.next('s', list).id),
      ['a', 'b', 'c', 'a'],
    );
    assert.equal(rr.next('other', list).id, 'a');
  });

  test('refuses with SHOP_DEPENDENCY_UNAVAILABLE when there is no instance', async () => {
    const rr = new RoundRobin(new StaticRegistry({}));
    await assert.rejects(
      rr.pick('catalog'),
      (err: unknown) => err instanceof ShopError && err.code === 'SHOP_DEPENDENCY_UNAVAILABLE',
    );
  });
});

describe('addresses', () => {
  test('the gRPC port in meta wins over the registered port', () => {
    assert.equal(
      grpcAddressOf({ id: 'x', service: 's', address: '10.0.0.5', port: 8082, meta: { grpc_port: '9082' } }),
      '10.0.0.5:9082',
    );
    assert.equal(grpcAddressOf({ id: 'x', service: 's', address: '::1', port: 9082 }), '[::1]:9082');
  });

  test('durations are written the way Consul parses them', () => {
    assert.equal(goDuration(10_000), '10s');
    assert.equal(goDuration(250), '250ms');
  });
});
