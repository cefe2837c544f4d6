import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  BreakerRegistry,
  createGrpcClient,
  createLogger,
  createMetrics,
  type GrpcClient,
  ShopError,
  StaticRegistry,
} from '@shoplab/chassis';
import { ERROR_CODES, type ErrorCode } from '@shoplab/chassis/errors';
import { userV1 } from '@shoplab/contracts';
import { startTestService, type TestService } from '../support/app';
import { berlin, london, registerUser, type Session } from '../support/http';

let svc: TestService;
let client: GrpcClient<typeof userV1.UserServiceService>;
let breakers: BreakerRegistry;
let alice: Session;
let aliceAddressId: string;

before(async () => {
  svc = await startTestService();
  const port = await svc.grpc.start();
  breakers = new BreakerRegistry();
  client = createGrpcClient(
    userV1.UserServiceClient,
    {
      caller: 'order',
      target: 'user',
      registry: new StaticRegistry({ user: [`127.0.0.1:${port}`] }),
      deadlineMs: 5_000,
      retry: { idempotentMethods: ['getUser', 'validateAddress'], retries: 2 },
    },
    { metrics: createMetrics('order'), breakers, logger: createLogger({ service: 'order', level: 'silent' }) },
  );
  alice = await registerUser(svc.http, { name: 'Alice' });
  const res = await svc.http.inject({
    method: 'POST',
    url: '/v1/users/me/addresses',
    headers: alice.auth,
    payload: berlin,
  });
  aliceAddressId = res.json().id;
});

after(async () => {
  client?.close();
  breakers?.close();
  await svc?.close();
});

/** Asserts the call failed with this ShopError code (its gRPC status is the table's). */
function rejectsWith(code: ErrorCode, check?: (err: ShopError) => void) {
  return (err: unknown) => {
    assert.ok(err instanceof ShopError, `expected a ShopError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.equal((err.cause as { code?: number }).code, ERROR_CODES[code].grpc, 'the gRPC status on the wire');
    check?.(err);
    return true;
  };
}

describe('GetUser', () => {
  test('returns the user with their addresses', async () => {
    const { user } = await client.call('getUser', { id: alice.id });
    assert.ok(user);
    assert.equal(user.id, alice.id);
    assert.equal(user.email, alice.email);
    assert.equal(user.name, 'Alice');
    assert.ok(!Number.isNaN(Date.parse(user.createdAt)));
    assert.deepEqual(user.addresses, [{ id: aliceAddressId, ...berlin, line2: '', isDefault: true }]);
  });

  test('an unknown id is NOT_FOUND', async () => {
    await assert.rejects(client.call('getUser', { id: randomUUID() }), rejectsWith('SHOP_NOT_FOUND'));
  });

  test('an id that is not a uuid is INVALID_ARGUMENT', async () => {
    await assert.rejects(
      client.call('getUser', { id: 'alice' }),
      rejectsWith('SHOP_VALIDATION_FAILED', (err) => assert.match(err.message, /id: must be a uuid/)),
    );
    await assert.rejects(client.call('getUser', { id: '' }), rejectsWith('SHOP_VALIDATION_FAILED'));
  });
});

describe('ValidateAddress', () => {
  test("accepts one of the user's addresses by id and returns it", async () => {
    const { address } = await client.call('validateAddress', { userId: alice.id, addressId: aliceAddressId });
    assert.deepEqual(address, { id: aliceAddressId, ...berlin, line2: '', isDefault: true });
  });

  test('accepts a full valid address and returns it normalized, without an id', async () => {
    const { address } = await client.call('validateAddress', {
      userId: alice.id,
      addressId: '',
      address: { id: '', ...london, line1: `  ${london.line1} `, line2: '', isDefault: false },
    });
    assert.deepEqual(address, { id: '', ...london, line2: '', isDefault: false });
  });

  test("someone else's address id is NOT_FOUND", async () => {
    const bob = await registerUser(svc.http, { name: 'Bob' });
    await assert.rejects(
      client.call('validateAddress', { userId: bob.id, addressId: aliceAddressId }),
      rejectsWith('SHOP_NOT_FOUND'),
    );
  });

  test('an unknown user is NOT_FOUND, for an address id and for a full address alike', async () => {
    const nobody = randomUUID();
    await assert.rejects(
      client.call('validateAddress', { userId: nobody, addressId: aliceAddressId }),
      rejectsWith('SHOP_NOT_FOUND'),
    );
    await assert.rejects(
      client.call('validateAddress', {
        userId: nobody,
        addressId: '',
        address: { id: '', ...london, line2: '', isDefault: false },
      }),
      rejectsWith('SHOP_NOT_FOUND'),
    );
  });

  test('an invalid address is INVALID_ARGUMENT naming each bad field', async () => {
    await assert.rejects(
      client.call('validateAddress', {
        userId: alice.id,
        addressId: '',
        address: { id: '', line1: '', line2: '', city: 'Paris', postalCode: '75001', country: 'XX', isDefault: false },
      }),
      rejectsWith('SHOP_VALIDATION_FAILED', (err) => {
        const errors = err.details?.errors as { field: string }[];
        assert.deepEqual(errors.map((e) => e.field).sort(), ['address.country', 'address.line1']);
      }),
    );
  });

  test('neither or both of address_id and address is INVALID_ARGUMENT', async () => {
    const expectOneOf = rejectsWith('SHOP_VALIDATION_FAILED', (err) =>
      assert.match(err.message, /exactly one of address_id or address/),
    );
    await assert.rejects(client.call('validateAddress', { userId: alice.id, addressId: '' }), expectOneOf);
    await assert.rejects(
      client.call('validateAddress', {
        userId: alice.id,
        addressId: aliceAddressId,
        address: { id: '', ...london, line2: '', isDefault: false },
      }),
      expectOneOf,
    );
  });

  test('malformed ids are INVALID_ARGUMENT', async () => {
    await assert.rejects(
      client.call('validateAddress', { userId: 'alice', addressId: aliceAddressId }),
      rejectsWith('SHOP_VALIDATION_FAILED'),
    );
    await assert.rejects(
      client.call('validateAddress', { userId: alice.id, addressId: 'home' }),
      rejectsWith('SHOP_VALIDATION_FAILED'),
    );
  });
});
