import {
  createHttpApp,
  createServiceGrpcServer,
  createTokenSigner,
  createTokenVerifier,
  type GrpcServer,
  type HttpApp,
  prismaAuditPool,
  registerOutboxAudit,
  type ServiceKit,
} from '@shoplab/chassis';
import { userV1 } from '@shoplab/contracts';
import { userServiceHandlers } from './api/grpc/user.handler';
import { registerAdminRoutes } from './api/http/admin.routes';
import { registerAuthRoutes } from './api/http/auth.routes';
import { registerUserRoutes } from './api/http/users.routes';
import type { PasswordHasher } from './application/ports';
import { createDummyHash, Users } from './application/users';
import { loginThrottleSettings, type UserConfig, userTokenPublicKey } from './config';
import type { PrismaClient } from './infrastructure/database';
import { PrismaLoginAttemptStore } from './infrastructure/login-attempts.repository';
import { PrismaNotificationReader } from './infrastructure/notification.repository';
import { SCRYPT_DEFAULTS, ScryptPasswordHasher } from './infrastructure/password-hasher';
import { PrismaUserRepository } from './infrastructure/user.repository';

export interface AppDeps {
  kit: ServiceKit<UserConfig>;
  prisma: PrismaClient;
  hasher?: PasswordHasher;
  /** Test seams for the login slowdown: the clock and the wait. */
  now?: () => Date;
  wait?: (ms: number) => Promise<unknown>;
}

export interface UserApp {
  http: HttpApp;
  grpc: GrpcServer;
  users: Users;
}

/** The user service without listening: REST on `http`, user.v1.UserService on `grpc`. */
export async function buildApp(deps: AppDeps): Promise<UserApp> {
  const { kit, prisma } = deps;
  const { config } = kit;
  const hasher =
    deps.hasher ??
    new ScryptPasswordHasher(
      { ...SCRYPT_DEFAULTS, N: config.PASSWORD_SCRYPT_N },
      { maxConcurrent: config.PASSWORD_HASH_CONCURRENCY, maxQueue: 256 },
    );
  const users = new Users({
    users: new PrismaUserRepository(prisma),
    attempts: new PrismaLoginAttemptStore(prisma),
    notifications: new PrismaNotificationReader(prisma),
    hasher,
    signToken: createTokenSigner(config.JWT_PRIVATE_KEY, config.JWT_TTL_SECONDS),
    throttle: loginThrottleSettings(config),
    dummyHash: await createDummyHash(hasher),
    ...(deps.now ? { now: deps.now } : {}),
    ...(deps.wait ? { wait: deps.wait } : {}),
  });

  // Kafka is deliberately not a readiness check: registration and login keep working while
  // Kafka is down, their events wait in the outbox (shop_outbox_backlog shows them).
  const http = await createHttpApp({
    ...kit.httpOptions(),
    description: 'Users, passwords, addresses and tokens',
    readiness: { db: () => prisma.$queryRaw`SELECT 1` },
  });
  registerOutboxAudit(http, { pool: prismaAuditPool(prisma), adminToken: kit.config.ADMIN_TOKEN });
  registerAuthRoutes(http, users);
  const publicKey = userTokenPublicKey(config);
  registerUserRoutes(http, users, createTokenVerifier(publicKey));
  registerAdminRoutes(http, users, config.ADMIN_TOKEN);

  const grpc = createServiceGrpcServer({ ...kit, config: { ...config, JWT_PUBLIC_KEY: publicKey } });
  grpc.addService(userV1.UserServiceService, userServiceHandlers(users));
  return { http, grpc, users };
}
