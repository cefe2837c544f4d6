// The catalog's TLS sidecar (docs/patterns/sidecar.md) against real nginx: the test starts its
// own sidecar with infra/local/nginx.sh (its own SHOPLAB_STATE, CA and free ports, never the
// stack's) in front of its own gRPC server and HTTP app, and calls through it as the gateway
// does. What it adds: the chassis' TLS dialling (SIDECAR_SERVICES) and its ACCESS_LOG switch
// checked against the committed nginx config, not a stand-in.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { catalogV1 } from '@shoplab/contracts';
import { type AccessLogMode, AccessLogSwitch } from '../../src/access-log';
import { FaultInjector } from '../../src/chaos';
import { StaticRegistry } from '../../src/discovery';
import { ShopError } from '../../src/errors';
import { createGrpcClient, useSidecarTls } from '../../src/grpc-client';
import { createGrpcServer } from '../../src/grpc-server';
import { createHttpApp } from '../../src/http';
import { createLogger } from '../../src/logging';
import { createMetrics } from '../../src/metrics';
import { BreakerRegistry } from '../../src/resilience';

const run = promisify(execFile);
const ROOT = resolve(__dirname, '../../../../..');
const NGINX_SH = join(ROOT, 'infra/local/nginx.sh');

/** A free TCP port on loopback (bound, then released for nginx to take). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  await new Promise((done) => server.close(done));
  return port;
}

/** A catalog stand-in built from the chassis' own blocks, its log lines kept for the test. */
async function startCatalog(mode: AccessLogMode) {
  const accessLog = new AccessLogSwitch(mode);
  const lines: string[] = [];
  const logger = createLogger({ service: 'catalog', destination: { write: (line: string) => lines.push(line) } });
  const metrics = createMetrics('catalog');
  const chaos = new FaultInjector(metrics);
  const grpc = createGrpcServer({ serviceName: 'catalog', logger, metrics, chaos, port: 0, accessLog });
  let served = 0;
  const getProduct = {
    getProduct: async (req: catalogV1.GetProductRequest) => {
      served++;
      return {
        product: {
          id: req.id,
          sku: `SKU-${req.id}`,
          name: 'sidecar test',
          description: '',
          category: 'books',
          price: { amount: 100, currency: 'USD' },
          available: 1,
          imageUrl: '',
        },
      };
    },
  };
  // GetProduct is all the test calls; the other methods answer INTERNAL.
  const notHere = async () => {
    throw new Error('not part of this test');
  };
  grpc.addService(
    catalogV1.CatalogServiceService,
    new Proxy(getProduct, {
      get: (target, key) => (key === 'getProduct' ? target.getProduct : notHere),
    }) as never,
  );
  const grpcPort = await grpc.start();
  const http = await createHttpApp({
    service: 'catalog',
    version: 'test',
    logger,
    metrics,
    chaos,
    adminToken: 'sidecar-test-admin-token',
    accessLog,
  });
  await http.listen({ host: '127.0.0.1', port: 0 });
  const httpPort = (http.server.address() as { port: number }).port;
  return { grpc, http, grpcPort, httpPort, lines, accessLog, served: () => served };
}

function clientFor(address: string) {
  const breakers = new BreakerRegistry();
  const client = createGrpcClient(
    catalogV1.CatalogServiceClient,
    { caller: 'gateway', target: 'catalog', registry: new StaticRegistry({ catalog: [address] }), deadlineMs: 3_000 },
    { metrics: createMetrics('gateway'), breakers, logger: createLogger({ service: 'gateway', level: 'silent' }) },
  );
  return {
    client,
    close: () => {
      client.close();
      breakers.close();
    },
  };
}

function httpsGet(url: string, ca?: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((done, fail) => {
    https
      .get(url, { ...(ca ? { ca } : {}), timeout: 3_000 }, (res) => {
        let body = '';
        res.on('data', (chunk) => {
          body += chunk;
        });
        res.on('end', () => done({ status: res.statusCode ?? 0, body }));
      })
      .on('error', fail);
  });
}

const accessLines = (file: string) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { uri: string; status: number; grpc_status: string; tls: string; protocol: string });

describe('the catalog sidecar (real nginx)', () => {
  const state = mkdtempSync(join(tmpdir(), 'shoplab-sidecar-'));
  let env: NodeJS.ProcessEnv;
  let catalog: Awaited<ReturnType<typeof startCatalog>>;
  let sidecarGrpc = 0;
  let sidecarHttp = 0;
  const ca = () => readFileSync(join(state, 'sidecar/tls/ca.pem'));
  const accessLog = join(state, 'logs/catalog-sidecar.access.log');
  const started: { stop(): Promise<unknown> }[] = [];

  before(async () => {
    catalog = await startCatalog('off');
    started.push({ stop: () => catalog.grpc.shutdown(200) }, { stop: () => catalog.http.close() });
    sidecarGrpc = await freePort();
    sidecarHttp = await freePort();
    env = {
      ...process.env,
      SHOPLAB_STATE: state,
      SIDECAR_GRPC_PORT: String(sidecarGrpc),
      SIDECAR_HTTP_PORT: String(sidecarHttp),
      SIDECAR_CATALOG_GRPC: `127.0.0.1:${catalog.grpcPort}`,
      SIDECAR_CATALOG_HTTP: `127.0.0.1:${catalog.httpPort}`,
    };
    await run('bash', [NGINX_SH, 'up'], { env });
  });

  after(async () => {
    useSidecarTls(undefined);
    await run('bash', [NGINX_SH, 'down'], { env }).catch(() => undefined);
    for (const s of started) await s.stop().catch(() => undefined);
    rmSync(state, { recursive: true, force: true });
  });

  test('gRPC calls reach the catalog over verified TLS, one access-log line each, none in the service log', async () => {
    useSidecarTls({ targets: ['catalog'], caPem: ca() });
    const { client, close } = clientFor(`127.0.0.1:${sidecarGrpc}`);
    try {
      for (let i = 0; i < 5; i++) {
        const res = await client.call('getProduct', { id: `p${i}` });
        assert.equal(res.product?.id, `p${i}`);
      }
    } finally {
      close();
    }
    assert.equal(catalog.served(), 5);
    const calls = accessLines(accessLog).filter((l) => l.uri === '/catalog.v1.CatalogService/GetProduct');
    assert.equal(calls.length, 5);
    for (const l of calls) {
      assert.equal(l.grpc_status, '0');
      assert.match(l.tls, /^TLSv1\.[23]$/);
      assert.equal(l.protocol, 'HTTP/2.0');
    }
    assert.deepEqual(
      catalog.lines.filter((l) => l.includes('GetProduct')),
      [],
      'the service logs no call itself (ACCESS_LOG=off)',
    );
  });

  test('HTTP requests too: TLS verified against the local CA, logged by the sidecar only', async () => {
    const before = accessLines(accessLog).length;
    const res = await httpsGet(`https://127.0.0.1:${sidecarHttp}/healthz`, ca());
    assert.equal(res.status, 200);
    const added = accessLines(accessLog).slice(before);
    assert.deepEqual(
      added.map((l) => [l.uri, l.status]),
      [['/healthz', 200]],
    );
    assert.deepEqual(
      catalog.lines.filter((l) => l.includes('/healthz')),
      [],
    );
    // A client that does not trust the local CA refuses the sidecar's certificate.
    await assert.rejects(httpsGet(`https://127.0.0.1:${sidecarHttp}/healthz`), /self-signed|unable to (get|verify)/i);
  });

  test('plain text is refused at the sidecar: a caller without TLS gets UNAVAILABLE, the catalog sees nothing', async () => {
    useSidecarTls(undefined);
    const servedBefore = catalog.served();
    const { client, close } = clientFor(`127.0.0.1:${sidecarGrpc}`);
    try {
      await assert.rejects(client.call('getProduct', { id: 'plain' }), (err: unknown) => {
        assert.ok(err instanceof ShopError, String(err));
        assert.equal(err.code, 'SHOP_DEPENDENCY_UNAVAILABLE');
        return true;
      });
    } finally {
      close();
    }
    assert.equal(catalog.served(), servedBefore);
  });

  test('without the sidecar (ACCESS_LOG=all) the service writes the line itself', async () => {
    const direct = await startCatalog('all');
    started.push({ stop: () => direct.grpc.shutdown(200) }, { stop: () => direct.http.close() });
    useSidecarTls(undefined);
    const { client, close } = clientFor(`127.0.0.1:${direct.grpcPort}`);
    try {
      for (let i = 0; i < 3; i++) await client.call('getProduct', { id: `d${i}` });
    } finally {
      close();
    }
    const own = direct.lines.filter((l) => l.includes('"msg":"gRPC call"') && l.includes('GetProduct'));
    assert.equal(own.length, 3);
    const res = await fetch(`http://127.0.0.1:${direct.httpPort}/healthz`);
    assert.equal(res.status, 200);
    assert.ok(direct.lines.some((l) => l.includes('request completed')));
  });

  test('PUT /admin/access-log switches it at runtime: off leaves both kinds of line to the sidecar', async () => {
    const direct = await startCatalog('all');
    started.push({ stop: () => direct.grpc.shutdown(200) }, { stop: () => direct.http.close() });
    const putMode = (mode: string) =>
      direct.http.inject({
        method: 'PUT',
        url: '/admin/access-log',
        headers: { authorization: 'Bearer sidecar-test-admin-token' },
        payload: { mode },
      });
    const put = await putMode('off');
    assert.equal(put.statusCode, 200);
    assert.deepEqual(put.json(), { mode: 'off' });
    assert.equal(direct.accessLog.mode, 'off');
    assert.equal((await putMode('loud')).statusCode, 400);
    const from = direct.lines.length;
    useSidecarTls(undefined);
    const { client, close } = clientFor(`127.0.0.1:${direct.grpcPort}`);
    try {
      await client.call('getProduct', { id: 'quiet' });
    } finally {
      close();
    }
    assert.equal((await fetch(`http://127.0.0.1:${direct.httpPort}/healthz`)).status, 200);
    const logged = direct.lines.slice(from).filter((l) => l.includes('GetProduct') || l.includes('/healthz'));
    assert.deepEqual(logged, []);
  });
});
