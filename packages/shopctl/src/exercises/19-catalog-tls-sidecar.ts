// Exercise 19: an nginx sidecar beside the catalog takes over TLS and the access log. The same
// product-page load runs with the gateway calling the catalog directly (the catalog logging each
// call itself) and through the sidecar over verified TLS (the sidecar logging them, the catalog
// not); then the sidecar is killed and started again (docs/exercises/19-catalog-tls-sidecar.md).
import { execFile } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { promisify } from 'node:util';
import { type Shopper, shoplabStateDir } from '../api';
import { localStackRunning, repoRoot, runControl } from '../control';
import { registerExercise } from './registry';
import { describeMs, describeTally, productInStock, quantile, tally } from './support';
import { check, type ExerciseContext } from './types';

const run = promisify(execFile);

/** Product-page reads per phase, and how many run at once; WARM_UP reads first, not counted (new connections, TLS sessions). */
const READS = 80;
const WARM_UP = 8;
const CONCURRENCY = 4;
/** Reads while the sidecar is down (one every KILLED_EVERY_MS). */
const KILLED_READS = 10;
const KILLED_EVERY_MS = 150;
/**
 * How long the product page may take to answer live again once the sidecar is back: the
 * gateway's gRPC channel reconnects with backoff after refused connections (0.3 to 12 s seen).
 */
const RECOVER_MS = 25_000;
const SIDECAR_GRPC = { host: '127.0.0.1', port: 9482 };
const SIDECAR_HTTP = 'http://127.0.0.1:8482';
const GET_PRODUCT = '/catalog.v1.CatalogService/GetProduct';

type AccessLogMode = 'http' | 'all' | 'off';

interface Read {
  status: number;
  ms: number;
  degraded: string[];
  code: string | null;
}

interface Phase {
  reads: Read[];
  /** GetProduct lines written meanwhile by the catalog (its own log) and by the sidecar. */
  catalogLines: number;
  sidecarLines: number;
}

/** Where the native stack keeps the two logs this exercise compares. */
function logFiles(ctx: ExerciseContext) {
  const logs = join(shoplabStateDir(ctx.env), 'logs');
  return {
    catalog: join(logs, 'catalog.log'),
    sidecar: join(logs, 'catalog-sidecar.access.log'),
    ca: join(shoplabStateDir(ctx.env), 'sidecar/tls/ca.pem'),
  };
}

const sizeOf = (file: string) => (existsSync(file) ? statSync(file).size : 0);

/** Lines written to `file` after byte `from` that `match` accepts (only the new part is read: a service log grows to gigabytes). */
function linesSince(file: string, from: number, match: (line: string) => boolean): number {
  const length = sizeOf(file) - from;
  if (length <= 0) return 0;
  const fd = openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(length);
    const read = readSync(fd, buffer, 0, length, from);
    return buffer.subarray(0, read).toString('utf8').split('\n').filter(match).length;
  } finally {
    closeSync(fd);
  }
}

const catalogCallLine = (l: string) =>
  l.includes('"msg":"gRPC call"') && l.includes(`"method":"${GET_PRODUCT.slice(1)}"`);
const sidecarCallLine = (l: string) => l.includes(`"uri":"${GET_PRODUCT}"`);

/** infra/local/nginx.sh <verb>; its output goes to the exercise log. */
async function sidecar(ctx: ExerciseContext, verb: 'up' | 'down' | 'kill'): Promise<void> {
  const { stdout, stderr } = await run('bash', [join(repoRoot(ctx.env), 'infra/local/nginx.sh'), verb], {
    env: ctx.env,
  });
  for (const line of `${stdout}${stderr}`.split('\n')) if (line.trim()) ctx.log(line.trim());
}

async function sidecarRunning(ctx: ExerciseContext): Promise<boolean> {
  try {
    await run('bash', [join(repoRoot(ctx.env), 'infra/local/nginx.sh'), 'status'], { env: ctx.env });
    return true;
  } catch {
    return false;
  }
}

/** Restarts the gateway with the sidecar on or off: it dials the catalog there, over TLS, or directly. */
async function restartGateway(ctx: ExerciseContext, on: boolean): Promise<void> {
  const env = { ...ctx.env, SHOPLAB_SIDECAR: on ? 'on' : 'off' };
  const lines: string[] = [];
  const keep = (text: string) => {
    for (const line of text.split('\n')) if (line.trim()) lines.push(line.trim());
  };
  for (const action of ['stop', 'start'] as const) {
    const code = await runControl(action, ['gateway'], { env, out: keep, err: keep });
    for (const line of lines.splice(0)) ctx.log(line);
    if (code !== 0) throw new Error(`shopctl ${action} gateway (SHOPLAB_SIDECAR=${env.SHOPLAB_SIDECAR}) failed`);
  }
}

async function setAccessLog(ctx: ExerciseContext, mode: AccessLogMode): Promise<void> {
  await ctx.admin.request('catalog', 'PUT', '/admin/access-log', { body: { mode } });
  ctx.log(`catalog: PUT /admin/access-log {"mode":"${mode}"}`);
}

/** GET /api/v1/products/{id} as the shopper. */
async function readPage(ctx: ExerciseContext, shopper: Shopper, id: string): Promise<Read> {
  const started = performance.now();
  try {
    const res = await fetch(`${ctx.gatewayUrl}/api/v1/products/${encodeURIComponent(id)}`, {
      headers: { authorization: `Bearer ${shopper.token}` },
      signal: AbortSignal.timeout(10_000),
    });
    const body = (await res.json().catch(() => null)) as { degraded?: string[]; code?: string } | null;
    return {
      status: res.status,
      ms: performance.now() - started,
      degraded: body?.degraded ?? [],
      code: res.status === 200 ? null : (body?.code ?? null),
    };
  } catch (err) {
    return { status: 0, ms: performance.now() - started, degraded: [], code: (err as Error).message };
  }
}

/** READS product-page reads, CONCURRENCY at a time, with the two logs' lines counted around them. */
async function phase(ctx: ExerciseContext, shopper: Shopper, id: string): Promise<Phase> {
  for (let i = 0; i < WARM_UP; i++) await readPage(ctx, shopper, id);
  await ctx.sleep(300);
  const files = logFiles(ctx);
  const from = { catalog: sizeOf(files.catalog), sidecar: sizeOf(files.sidecar) };
  const reads: Read[] = [];
  let next = 0;
  const worker = async () => {
    while (next < READS && !ctx.signal.aborted) {
      next++;
      reads.push(await readPage(ctx, shopper, id));
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  // pino writes through a buffered stream: give the catalog's last lines a moment to land.
  await ctx.sleep(300);
  return {
    reads,
    catalogLines: linesSince(files.catalog, from.catalog, catalogCallLine),
    sidecarLines: linesSince(files.sidecar, from.sidecar, sidecarCallLine),
  };
}

/** The difference of one quantile of two phases' latencies, signed: `+3 ms (40 → 43)`. */
function added(before: Read[], after: Read[], q: number): string {
  const b = Math.round(
    quantile(
      before.map((r) => r.ms),
      q,
    ),
  );
  const a = Math.round(
    quantile(
      after.map((r) => r.ms),
      q,
    ),
  );
  return `${a - b >= 0 ? '+' : ''}${a - b} ms (${b} → ${a})`;
}

function describeReads(reads: Read[]): string {
  const ok = reads.filter((r) => r.status === 200 && r.degraded.length === 0).length;
  return `${ok}/${reads.length} answered live; latency ${describeMs(reads.map((r) => r.ms))}`;
}

/** The sidecar's certificate as a caller that trusts only the local CA sees it. */
function peerCertificate(caPem: Buffer): Promise<{ subject: string; issuer: string; protocol: string; alpn: string }> {
  return new Promise((done, fail) => {
    const socket = tlsConnect({ ...SIDECAR_GRPC, ca: caPem, servername: 'catalog', ALPNProtocols: ['h2'] }, () => {
      const cert = socket.getPeerCertificate();
      done({
        subject: String(cert.subject?.CN),
        issuer: String(cert.issuer?.CN),
        protocol: socket.getProtocol() ?? '?',
        alpn: String(socket.alpnProtocol),
      });
      socket.end();
    });
    socket.on('error', fail);
    socket.setTimeout(3_000, () => socket.destroy(new Error('no TLS handshake in 3 s')));
  });
}

registerExercise({
  number: 19,
  slug: 'catalog-tls-sidecar',
  title: 'A sidecar takes TLS and the access log off the catalog',
  pattern: 'sidecar',
  doc: 'docs/exercises/19-catalog-tls-sidecar.md',
  checkout: {
    modes: 'orchestrated',
    why: 'not about checkout outcomes: a TLS sidecar in front of the catalog',
  },
  async run(ctx) {
    if (!localStackRunning(ctx.env)) {
      throw new Error(
        'exercise 19 drives the native stack (infra/local/nginx.sh and services.sh); in compose and kind the sidecar is a container of the catalog (docs/patterns/sidecar.md)',
      );
    }
    const files = logFiles(ctx);
    const product = await productInStock(ctx, 1);
    const shopper = await ctx.shop.newShopper({ emailPrefix: `${ctx.runId}-sidecar` });
    const { mode: initialMode } = await ctx.admin.request<{ mode: AccessLogMode }>(
      'catalog',
      'GET',
      '/admin/access-log',
    );
    ctx.defer(`catalog access log back to ${initialMode}`, () => setAccessLog(ctx, initialMode));
    const stackHadSidecar = await sidecarRunning(ctx);

    ctx.step('Before: the gateway calls the catalog directly; the catalog logs each call itself');
    if (stackHadSidecar) {
      // The stack runs with SHOPLAB_SIDECAR=on: the "before" needs the gateway dialling the catalog.
      ctx.defer('gateway back to the sidecar', () => restartGateway(ctx, true));
      await restartGateway(ctx, false);
    }
    await setAccessLog(ctx, 'all');
    const before = await phase(ctx, shopper, product.id);
    ctx.log(`direct: ${describeReads(before.reads)}`);
    ctx.log(`catalog's own log: ${before.catalogLines} GetProduct lines; sidecar's access log: ${before.sidecarLines}`);

    ctx.step('After: nginx beside the catalog terminates TLS and writes the access log');
    if (!stackHadSidecar) ctx.defer('stop the sidecar', () => sidecar(ctx, 'down'));
    await sidecar(ctx, 'up');
    await setAccessLog(ctx, 'off');
    if (!stackHadSidecar) ctx.defer('gateway back to calling the catalog directly', () => restartGateway(ctx, false));
    await restartGateway(ctx, true);
    const after = await phase(ctx, shopper, product.id);
    ctx.log(`through the sidecar: ${describeReads(after.reads)}`);
    ctx.log(`catalog's own log: ${after.catalogLines} GetProduct lines; sidecar's access log: ${after.sidecarLines}`);

    ctx.step('TLS on the wire: the certificate a caller verifies, and a plain-text request');
    const cert = await peerCertificate(readFileSync(files.ca)).catch((err: Error) => err);
    ctx.log(
      cert instanceof Error
        ? `TLS handshake failed: ${cert.message}`
        : `127.0.0.1:9482 presents CN=${cert.subject}, issued by "${cert.issuer}" (${cert.protocol}, ALPN ${cert.alpn})`,
    );
    const plain = await fetch(`${SIDECAR_HTTP}/readyz`, { signal: AbortSignal.timeout(3_000) });
    const plainText = await plain.text();
    ctx.log(
      `plain HTTP to ${SIDECAR_HTTP}/readyz: ${plain.status} ${/<title>([^<]*)<\/title>/.exec(plainText)?.[1] ?? ''}`,
    );

    ctx.step('Kill the sidecar: what the gateway sees, then start it again');
    if (stackHadSidecar) ctx.defer('the sidecar running again', () => sidecar(ctx, 'up'));
    await sidecar(ctx, 'kill');
    const killed: Read[] = [];
    for (let i = 0; i < KILLED_READS && !ctx.signal.aborted; i++) {
      killed.push(await readPage(ctx, shopper, product.id));
      await ctx.sleep(KILLED_EVERY_MS);
    }
    const breaker = (await ctx.admin.breakers('gateway').catch(() => ({ items: [] }))).items.find(
      (b) => b.target === 'catalog',
    );
    ctx.log(
      `sidecar down: ${describeTally(tally(killed.map((r) => (r.status === 200 ? (r.degraded.length ? `200 degraded ${JSON.stringify(r.degraded)}` : '200 live') : `${r.status} ${r.code ?? ''}`.trim()))))}; gateway → catalog breaker ${breaker?.state ?? 'unknown'}`,
    );
    await sidecar(ctx, 'up');
    const backAt = Date.now();
    let recovered: Read | undefined;
    while (Date.now() - backAt < RECOVER_MS && !ctx.signal.aborted) {
      const r = await readPage(ctx, shopper, product.id);
      if (r.status === 200 && r.degraded.length === 0) {
        recovered = r;
        break;
      }
      await ctx.sleep(250);
    }
    const recoveredMs = Date.now() - backAt;
    ctx.log(recovered ? `live again ${recoveredMs} ms after the sidecar was back` : `not live ${RECOVER_MS} ms after`);

    const allLive = (reads: Read[]) => reads.every((r) => r.status === 200 && r.degraded.length === 0);
    const killedAnswers = killed.every(
      (r) => (r.status === 200 && r.degraded.length > 0) || ((r.status === 503 || r.status === 504) && r.code !== null),
    );
    return [
      check(
        'the same product-page load answers in full with and without the sidecar (the latency it adds, measured)',
        before.reads.length === READS && after.reads.length === READS && allLive(before.reads) && allLive(after.reads),
        `direct: ${describeReads(before.reads)}`,
        `through the sidecar: ${describeReads(after.reads)}`,
        `added by the sidecar: p50 ${added(before.reads, after.reads, 0.5)}, p99 ${added(before.reads, after.reads, 0.99)} (TLS to nginx and a second h2 hop on loopback; on a busy machine the noise is as large)`,
      ),
      check(
        'the access log moved: the catalog logged every call itself before, the sidecar every call after and the catalog none',
        before.catalogLines >= READS &&
          before.sidecarLines === 0 &&
          after.sidecarLines >= READS &&
          after.catalogLines === 0,
        `before: catalog's log ${before.catalogLines} GetProduct lines, sidecar's ${before.sidecarLines} (of ${READS} pages)`,
        `after: catalog's log ${after.catalogLines}, sidecar's ${after.sidecarLines} (${files.sidecar})`,
      ),
      check(
        'TLS on the wire: the sidecar presents the catalog certificate of the local CA; plain text is refused',
        !(cert instanceof Error) &&
          cert.subject === 'catalog' &&
          /^TLSv1\.[23]$/.test(cert.protocol) &&
          plain.status === 400,
        cert instanceof Error
          ? `handshake: ${cert.message}`
          : `CN=${cert.subject}, issuer "${cert.issuer}", ${cert.protocol}`,
        `plain HTTP: ${plain.status} (${/<title>([^<]*)<\/title>/.exec(plainText)?.[1] ?? plainText.slice(0, 60)})`,
      ),
      check(
        'sidecar killed: the gateway answers from its cache (degraded) or refuses with a problem, never a bare failure; live again once it is back',
        killed.length === KILLED_READS &&
          killedAnswers &&
          killed.some((r) => r.status !== 200 || r.degraded.length > 0) &&
          recovered !== undefined,
        `while down: ${describeTally(tally(killed.map((r) => `${r.status}${r.degraded.length ? ' degraded' : ''}${r.code ? ` ${r.code}` : ''}`)))}; breaker ${breaker?.state ?? 'unknown'}`,
        recovered ? `live again after ${recoveredMs} ms` : `still not live after ${RECOVER_MS} ms`,
      ),
    ];
  },
});
