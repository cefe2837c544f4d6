import { type Logger, ShopError } from '@shoplab/chassis';

/**
 * What a failed downstream call means to our caller: the dependency is unavailable
 * (SHOP_DEPENDENCY_UNAVAILABLE, 503), whether it was down, slow, behind an open breaker, or
 * answered with an error we did not expect. Its own code is kept in the details.
 */
export function dependencyUnavailable(dependency: string, err: unknown, logger: Logger): ShopError {
  const upstreamCode = err instanceof ShopError ? err.code : 'UNKNOWN';
  logger.warn({ dependency, upstreamCode, err }, `${dependency} call failed`);
  return new ShopError('SHOP_DEPENDENCY_UNAVAILABLE', `The ${dependency} service is unavailable; try again shortly`, {
    dependency,
    upstreamCode,
  });
}
