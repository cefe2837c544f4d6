// Calling a service's gRPC API straight, as one of its allowed callers would
// (docs/architecture.md#trust-boundaries): the caller's service credential, signed with its key
// from the local stack's state directory as the chassis signs it (packages/chassis/src/service-auth.ts).
// The bench plays the gateway with it; exercise 15 plays the order service to race two captures.
import { createPrivateKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { createSigner } from 'fast-jwt';
import { shoplabStateDir } from './api';

/** The metadata of a call from `caller` to `target`, with the user's token when it is made for one. */
export async function callMetadata(
  caller: string,
  target: string,
  env: NodeJS.ProcessEnv,
  userToken?: string,
): Promise<grpc.Metadata> {
  const der = (await readFile(join(shoplabStateDir(env), 'keys', `${caller}.key`), 'utf8')).trim();
  const key = createPrivateKey({ key: Buffer.from(der, 'base64'), format: 'der', type: 'pkcs8' });
  const sign = createSigner({
    key: key.export({ format: 'pem', type: 'pkcs8' }) as string,
    algorithm: 'EdDSA',
    iss: `service:${caller}`,
    sub: caller,
    aud: `service:${target}`,
    expiresIn: 10 * 60_000,
  });
  const metadata = new grpc.Metadata();
  metadata.set('shop-service-token', sign({}));
  if (userToken) metadata.set('shop-user-token', userToken);
  return metadata;
}

/** One unary call of a generated client as a promise. */
export function unary<Req, Res>(
  client: grpc.Client,
  method: (req: Req, md: grpc.Metadata, cb: (err: grpc.ServiceError | null, res: Res) => void) => unknown,
  request: Req,
  metadata: grpc.Metadata,
): Promise<Res> {
  return new Promise((resolve, reject) => {
    method.call(client, request, metadata, (err, res) => (err ? reject(err) : resolve(res)));
  });
}
