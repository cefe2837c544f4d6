import assert from 'node:assert/strict';
import { test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { ERROR_CODES, GrpcStatus, problemOf, ShopError } from '../../src/errors';

test('our gRPC status table is numerically identical to grpc-js', () => {
  for (const [name, value] of Object.entries(GrpcStatus)) {
    assert.equal(value, status[name as keyof typeof status], name);
  }
});

test('every error code maps to a client or server HTTP status and a gRPC status', () => {
  for (const [code, spec] of Object.entries(ERROR_CODES)) {
    assert.match(code, /^SHOP_[A-Z_]+$/);
    assert.ok(spec.http >= 400 && spec.http < 600, `${code} http`);
    assert.ok(spec.grpc > 0, `${code} grpc`);
  }
});

test("a client's mistake never maps to UNKNOWN or INTERNAL over gRPC", () => {
  for (const [code, spec] of Object.entries(ERROR_CODES)) {
    if (spec.http < 500) {
      assert.notEqual(spec.grpc, GrpcStatus.INTERNAL, code);
      assert.notEqual(spec.grpc, GrpcStatus.UNKNOWN, code);
    }
  }
});

test('a ShopError renders as an RFC 9457 problem with its stable code and details', () => {
  const err = new ShopError('SHOP_OUT_OF_STOCK', 'only 2 left of p-1', { productId: 'p-1', available: 2 });
  const problem = problemOf(err, '/api/v1/checkout');
  assert.deepEqual(problem, {
    type: '/problems/out-of-stock',
    title: 'Not enough stock',
    status: 409,
    code: 'SHOP_OUT_OF_STOCK',
    detail: 'only 2 left of p-1',
    instance: '/api/v1/checkout',
    productId: 'p-1',
    available: 2,
  });
  assert.equal(err.grpcStatus, GrpcStatus.FAILED_PRECONDITION);
  assert.equal(err.transient, false);
  assert.equal(new ShopError('SHOP_DEPENDENCY_UNAVAILABLE').transient, true);
});

test('details cannot overwrite the standard problem members', () => {
  const problem = problemOf(new ShopError('SHOP_NOT_FOUND', 'no such order', { status: 200, code: 'X' }));
  assert.equal(problem.status, 404);
  assert.equal(problem.code, 'SHOP_NOT_FOUND');
});
