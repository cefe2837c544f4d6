import { ShopError } from '@shoplab/chassis';

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** Never rejects: lets a composition start calls in parallel and decide about each failure. */
export function settle<T>(promise: Promise<T>): Promise<Outcome<T>> {
  return promise.then(
    (value) => ({ ok: true, value }),
    (error: unknown) => ({ ok: false, error }),
  );
}

/** True when the downstream answered that the request itself is wrong (not found, invalid…). */
export function isRefusal(err: unknown): err is ShopError {
  return err instanceof ShopError && err.httpStatus < 500;
}

const UNAVAILABLE_CODES = new Set(['SHOP_TIMEOUT', 'SHOP_CIRCUIT_OPEN', 'SHOP_DEPENDENCY_UNAVAILABLE']);

/**
 * The error to answer with when a dependency the response cannot do without fails: a refusal
 * is passed on (404 stays 404), a timeout or open breaker keeps its code, and anything else
 * (an injected fault, an internal error over there) is SHOP_DEPENDENCY_UNAVAILABLE.
 */
export function essentialFailure(err: unknown, target: string): ShopError {
  if (isRefusal(err)) return err;
  if (err instanceof ShopError && UNAVAILABLE_CODES.has(err.code)) return err;
  return new ShopError('SHOP_DEPENDENCY_UNAVAILABLE', `${target} is unavailable`, { target }, { cause: err });
}
