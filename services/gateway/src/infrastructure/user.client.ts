import { createGrpcClient, type GrpcClient } from '@shoplab/chassis';
import { userV1 } from '@shoplab/contracts';
import { CALLER, type DownstreamClientSettings, READ_RETRY_BACKOFF } from './grpc-deps';

export type UserClient = GrpcClient<typeof userV1.UserServiceService>;

/** user.v1.UserService: profiles for /me. The gateway only reads; its read methods are retried. */
export function createUserClient(settings: DownstreamClientSettings): UserClient {
  return createGrpcClient(
    userV1.UserServiceClient,
    {
      caller: CALLER,
      target: 'user',
      registry: settings.registry,
      deadlineMs: settings.deadlineMs,
      retry: { idempotentMethods: ['getUser', 'validateAddress'], retries: settings.retries, ...READ_RETRY_BACKOFF },
      ...(settings.breaker ? { breaker: settings.breaker } : {}),
    },
    settings.deps,
  );
}
