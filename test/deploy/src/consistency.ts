// Consistency of the deployment files with what we build and test: run by scripts/deploy-check.sh
// (step "consistency") on JSON renderings of docker-compose.yml and k8s/overlays/kind.
//
//   node test/deploy/dist/consistency.js --root . --compose compose.json --k8s k8s.json \
//     --kind-cluster kind-cluster.json [--docs docs/deployment.md]
//
// The truth is the code: the services are the folders of services/, their settings are the keys of
// each service's config schema (services/<name>/dist/src/config.js, so `make build` first), the
// ports are the table of docs/reference.md#services-and-ports, which must also be the schema defaults and
// infra/local/services.sh's. Every problem is one line; the exit status is 1 when there is any.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type Obj = { [key: string]: Json };

/** docs/reference.md#services-and-ports. */
export const EXPECTED_PORTS: Record<string, { http: number; grpc?: number; admin?: number }> = {
  // `admin`: the admin listener (ADMIN_PORT; docs/adr/0044-admin-listener-and-proxy-trust.md),
  // every service's but the web's (its /api/v1/admin/* is the control room's proxy, on its one port).
  gateway: { http: 8080, admin: 7080 },
  user: { http: 8081, grpc: 9081, admin: 7081 },
  catalog: { http: 8082, grpc: 9082, admin: 7082 },
  cart: { http: 8083, grpc: 9083, admin: 7083 },
  payment: { http: 8084, grpc: 9084, admin: 7084 },
  order: { http: 8085, grpc: 9085, admin: 7085 },
  history: { http: 8086, admin: 7086 },
  shipping: { http: 8087, grpc: 9087, admin: 7087 },
  'legacy-shipping': { http: 8089, admin: 7089 },
  'card-network': { http: 8090, admin: 7090 },
  web: { http: 8088 },
};

/**
 * The gateway's downstreams (DOWNSTREAMS in services/gateway/src/config.ts): where it forwards
 * chaos and reads the audit, so its ADMIN_SERVICES (static registry) must name each one.
 */
const GATEWAY_ADMIN_DOWNSTREAMS = ['user', 'catalog', 'cart', 'payment', 'order'];

/**
 * Services that run as one replica on purpose (k8s/base/scaling.yaml): simulated outside systems
 * whose books are in memory, so a second replica would answer from another book. Every other
 * service is stateless: two replicas, a PodDisruptionBudget and a HorizontalPodAutoscaler.
 */
export const SINGLE_REPLICA: Record<string, string> = {
  'card-network': 'its idempotency book is in memory (ADR 36)',
  'legacy-shipping': 'its consignment book is in memory (ADR 30)',
};

interface ZodLike {
  safeParse(value: unknown): {
    success: boolean;
    data?: unknown;
    error?: { issues: { path: PropertyKey[]; message: string }[] };
  };
}
interface ServiceSchema {
  keys: Set<string>;
  required: string[];
  defaults: { http?: number; grpc?: number };
  parse(env: Record<string, string>): string[];
}

export interface Inputs {
  root: string;
  compose: { compose: Obj; mounts: Record<string, Json> };
  k8s: Obj[];
  kindCluster: Obj;
  docs?: string;
}

export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
export const obj = (v: Json | undefined): Obj => (isObj(v) ? v : {});
export const arr = (v: Json | undefined): Json[] => (Array.isArray(v) ? v : []);
export const str = (v: Json | undefined): string => (v === null || v === undefined ? '' : String(v));
const sameSet = (a: Iterable<string>, b: Iterable<string>) => {
  const x = [...new Set(a)].sort();
  const y = [...new Set(b)].sort();
  return x.length === y.length && x.every((v, i) => v === y[i]);
};
const fmt = (s: Iterable<string>) => [...s].sort().join(' ') || '(none)';

/** The services of the repository: services/<name>/ with a package.json. */
export function repoServices(root: string): string[] {
  return readdirSync(join(root, 'services'), { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(root, 'services', d.name, 'package.json')))
    .map((d) => d.name)
    .sort();
}

/** Services that own a database: a prisma/migrations folder. */
export function servicesWithMigrations(root: string, services: string[]): string[] {
  return services.filter((s) => existsSync(join(root, 'services', s, 'prisma', 'migrations')));
}

/** Services that publish events: their Prisma schema has the outbox table. */
export function publishers(root: string, services: string[]): string[] {
  return services.filter((s) => {
    const f = join(root, 'services', s, 'prisma', 'schema.prisma');
    return existsSync(f) && /^\s*model\s+Outbox\s*\{/m.test(readFileSync(f, 'utf8'));
  });
}

/** The config schema of a service, from its compiled config module. */
export function loadSchema(root: string, service: string): ServiceSchema {
  const file = join(root, 'services', service, 'dist', 'src', 'config.js');
  if (!existsSync(file)) throw new Error(`${file} is missing: run \`make build\` (or npm run build) first`);
  const mod = require(file) as Record<string, unknown>;
  const schema = mod.configSchema as (ZodLike & { shape?: Record<string, ZodLike> }) | undefined;
  if (!schema?.shape) throw new Error(`${file} does not export a zod object named configSchema`);
  const shape = schema.shape;
  // What loadConfig adds to the schema: with NODE_ENV=production, no placeholder or short secret.
  const chassis = require(join(root, 'packages', 'chassis', 'dist', 'src', 'config.js')) as {
    productionSecretProblems(config: Record<string, unknown>, env: Record<string, string>): string[];
  };
  const keys = new Set(Object.keys(shape));
  const required = [...keys].filter((k) => !shape[k]!.safeParse(undefined).success);
  const portDefault = (k: string) => {
    const r = shape[k]?.safeParse(undefined) as { success: boolean; data?: unknown } | undefined;
    return r?.success && typeof r.data === 'number' ? r.data : undefined;
  };
  const defaults: { http?: number; grpc?: number } = {};
  const http = portDefault('HTTP_PORT');
  const grpc = portDefault('GRPC_PORT');
  if (http !== undefined) defaults.http = http;
  if (grpc !== undefined) defaults.grpc = grpc;
  return {
    keys,
    required,
    defaults,
    parse(env) {
      // As loadConfig does: empty strings mean unset.
      const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ''));
      const r = schema.safeParse(cleaned);
      if (r.success) return chassis.productionSecretProblems(r.data as Record<string, unknown>, cleaned);
      return (r.error?.issues ?? []).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    },
  };
}

/** HTTP_PORT / GRPC_PORT of infra/local/services.sh (the native stack). */
export function nativePorts(root: string): Record<string, { http?: number; grpc?: number }> {
  const text = readFileSync(join(root, 'infra', 'local', 'services.sh'), 'utf8');
  const out: Record<string, { http?: number; grpc?: number }> = {};
  for (const [kind, name] of [
    ['http', 'HTTP_PORT'],
    ['grpc', 'GRPC_PORT'],
  ] as const) {
    const m = new RegExp(`declare -A ${name}=\\(([^)]*)\\)`).exec(text);
    for (const [, svc, port] of (m?.[1] ?? '').matchAll(/\[([a-z-]+)\]=(\d+)/g)) {
      out[svc!] ??= {};
      out[svc!]![kind] = Number(port);
    }
  }
  return out;
}

/** `name=host:port,...` → [[name, host, port]]. */
function addressList(value: string): [string, string, number][] {
  return value
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)
    .map((e) => {
      const m = /^([a-z][a-z0-9-]*)=([^\s:=]+):(\d{1,5})$/.exec(e);
      return m ? ([m[1]!, m[2]!, Number(m[3])] as [string, string, number]) : (['?', e, 0] as [string, string, number]);
    });
}

/** Compose environment: a mapping, or a list of KEY=VALUE. */
function composeEnv(service: Obj): Record<string, string> {
  const env = service.environment;
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((e) => {
        const [k, ...v] = str(e).split('=');
        return [k!, v.join('=')];
      }),
    );
  }
  return Object.fromEntries(Object.entries(obj(env)).map(([k, v]) => [k, str(v)]));
}

/** Compose ports (short "ip:host:container/proto" or long syntax) → {ip, published, target}. */
function composePorts(service: Obj): { ip: string; published: number; target: number }[] {
  return arr(service.ports).map((p) => {
    if (isObj(p)) return { ip: str(p.host_ip), published: Number(p.published), target: Number(p.target) };
    const s = str(p).replace(/\/(tcp|udp)$/, '');
    const parts = s.split(':');
    if (parts.length === 3) return { ip: parts[0]!, published: Number(parts[1]), target: Number(parts[2]) };
    if (parts.length === 2) return { ip: '', published: Number(parts[0]), target: Number(parts[1]) };
    return { ip: '', published: 0, target: Number(parts[0]) };
  });
}

function composeBindSources(service: Obj): { source: string; target: string }[] {
  return arr(service.volumes).flatMap((v) => {
    if (isObj(v)) return v.type === 'bind' ? [{ source: str(v.source), target: str(v.target) }] : [];
    const parts = str(v).split(':');
    return parts.length >= 2 && /^[./]/.test(parts[0]!) ? [{ source: parts[0]!, target: parts[1]! }] : [];
  });
}

/** Megabytes of a compose memory size ("320M", "1G", "512m", bytes). */
function megabytes(value: Json | undefined): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]?)b?$/i.exec(str(value).trim());
  if (!m) return Number.NaN;
  const n = Number(m[1]);
  const unit = m[2]!.toLowerCase();
  return unit === 'g' ? n * 1024 : unit === 'm' ? n : unit === 'k' ? n / 1024 : n / 1024 / 1024;
}

function createDatabases(sql: string): string[] {
  return [...sql.replace(/--.*$/gm, '').matchAll(/CREATE\s+DATABASE\s+"?([a-z_][a-z0-9_]*)"?/gi)].map((m) => m[1]!);
}

function topicList(value: string): string[] {
  return value.split(/[\s,]+/).filter(Boolean);
}

export function checkConsistency(input: Inputs): { problems: string[]; notes: string[] } {
  const problems: string[] = [];
  const notes: string[] = [];
  const fail = (where: string, what: string) => problems.push(`${where}: ${what}`);
  const { root } = input;

  // ---- the truth --------------------------------------------------------------------------
  const services = repoServices(root);
  const schemas = new Map<string, ServiceSchema>();
  for (const s of services) {
    try {
      schemas.set(s, loadSchema(root, s));
    } catch (err) {
      fail(`services/${s}`, (err as Error).message);
    }
  }
  const native = nativePorts(root);
  const withDb = servicesWithMigrations(root, services);
  const publishing = publishers(root, services);
  for (const s of services) {
    const expected = EXPECTED_PORTS[s];
    if (!expected) {
      fail(
        `services/${s}`,
        'has no row in the port table (docs/reference.md#services-and-ports; EXPECTED_PORTS in this file)',
      );
      continue;
    }
    const d = schemas.get(s)?.defaults;
    if (d && (d.http !== expected.http || d.grpc !== expected.grpc)) {
      fail(
        `services/${s}/src/config.ts`,
        `default ports ${d.http}/${d.grpc ?? '-'}, expected ${expected.http}/${expected.grpc ?? '-'}`,
      );
    }
    const n = native[s];
    if (!n || n.http !== expected.http || n.grpc !== expected.grpc) {
      fail(
        'infra/local/services.sh',
        `${s} ports ${n?.http ?? '?'}/${n?.grpc ?? '-'}, expected ${expected.http}/${expected.grpc ?? '-'}`,
      );
    }
  }
  for (const s of Object.keys(EXPECTED_PORTS))
    if (!services.includes(s)) fail('services/', `${s} is in the port table but has no folder`);
  notes.push(`services: ${fmt(services)}; with a database: ${fmt(withDb)}; publishing events: ${fmt(publishing)}`);

  const checkEnv = (where: string, service: string, env: Record<string, string>) => {
    const schema = schemas.get(service);
    if (!schema) return;
    for (const k of Object.keys(env)) {
      if (!schema.keys.has(k)) fail(where, `${k} is not a setting of ${service} (services/${service}/src/config.ts)`);
    }
    for (const k of schema.required) if (!env[k]) fail(where, `required ${k} is not provided`);
    for (const p of schema.parse(env))
      fail(where, `the environment does not parse with ${service}'s config schema: ${p}`);
    // Topic settings (e.g. ORDER_EVENTS_TOPIC) must name the events topic of a publishing service.
    for (const [k, v] of Object.entries(env)) {
      const m = /^([a-z][a-z0-9-]*)\.events$/.exec(v);
      if (k.endsWith('_TOPIC') && !(m && publishing.includes(m[1]!))) {
        fail(where, `${k}=${v} is not <service>.events of a service that publishes events`);
      }
    }
    // A caller's address of a service's admin listener (the web's SHOPLAB_ORDER_ADMIN_URL, …): its admin port.
    for (const [k, v] of Object.entries(env)) {
      const m = /^(?:SHOPLAB_([A-Z_]+)|(GATEWAY))_ADMIN_URL$/.exec(k);
      if (!m) continue;
      const target = (m[1] ?? m[2] ?? '').toLowerCase().replace(/_/g, '-');
      const want = `http://${target}:${EXPECTED_PORTS[target]?.admin ?? '(no admin port)'}`;
      if (v.replace(/\/+$/, '') !== want) fail(where, `${k}=${v}, expected ${want} (its admin listener)`);
    }
    const expected = EXPECTED_PORTS[service];
    if (expected) {
      if (env.HTTP_PORT !== undefined && Number(env.HTTP_PORT) !== expected.http) {
        fail(where, `HTTP_PORT ${env.HTTP_PORT}, expected ${expected.http}`);
      }
      if (env.GRPC_PORT !== undefined && Number(env.GRPC_PORT) !== expected.grpc) {
        fail(where, `GRPC_PORT ${env.GRPC_PORT}, expected ${expected.grpc}`);
      }
    }
  };

  // ---- docker-compose.yml -------------------------------------------------------------------
  const compose = obj(input.compose.compose);
  const composeServices = obj(compose.services);
  const appServices = Object.entries(composeServices).filter(
    ([, v]) => isObj(obj(v).build) && obj(obj(obj(v).build).args).SERVICE !== undefined,
  );
  const composeApp = appServices.map(([name]) => name);
  if (!sameSet(composeApp, services))
    fail('compose', `services built from the Dockerfile are ${fmt(composeApp)}; services/ has ${fmt(services)}`);
  let memoryTotal = 0;
  const memory: Record<string, number> = {};
  for (const [name, raw] of Object.entries(composeServices)) {
    const svc = obj(raw);
    const where = `compose ${name}`;
    const limit = obj(obj(obj(svc.deploy).resources).limits).memory ?? svc.mem_limit;
    const mb = megabytes(limit);
    if (Number.isNaN(mb)) fail(where, 'has no memory limit (deploy.resources.limits.memory)');
    else {
      memory[name] = mb;
      memoryTotal += mb;
    }
    for (const b of composeBindSources(svc)) {
      if (!existsSync(b.source)) fail(where, `mounts ${b.source}, which does not exist`);
    }
    for (const p of composePorts(svc)) {
      if (p.ip !== '127.0.0.1')
        fail(where, `port ${p.published}:${p.target} is published on ${p.ip || 'every interface'}, not 127.0.0.1`);
    }
  }
  for (const [name, raw] of appServices) {
    const svc = obj(raw);
    const where = `compose ${name}`;
    const arg = str(obj(obj(svc.build).args).SERVICE);
    if (arg !== name) fail(where, `build arg SERVICE=${arg}, expected ${name}`);
    if (str(svc.image) !== `shoplab/${name}:dev`) fail(where, `image ${str(svc.image)}, expected shoplab/${name}:dev`);
    if (!services.includes(name)) continue;
    const env = composeEnv(svc);
    checkEnv(where, name, env);
    if (env.REGISTRY_MODE !== 'consul') fail(where, `REGISTRY_MODE=${env.REGISTRY_MODE}, expected consul`);
    if (env.ADVERTISE_HOST !== name) fail(where, `ADVERTISE_HOST=${env.ADVERTISE_HOST}, expected ${name}`);
    if (env.SERVICE_NAME !== name) fail(where, `SERVICE_NAME=${env.SERVICE_NAME}, expected ${name}`);
    if (env.HTTP_HOST !== '0.0.0.0') fail(where, 'HTTP_HOST must be 0.0.0.0 (reachable from other containers)');
    const expected = EXPECTED_PORTS[name];
    if (expected) {
      if (env.HTTP_PORT === undefined) fail(where, 'HTTP_PORT is not set (the image health check uses it)');
      if (expected.grpc !== undefined && env.GRPC_HOST !== '0.0.0.0') fail(where, 'GRPC_HOST must be 0.0.0.0');
      if (expected.admin !== undefined && env.ADMIN_PORT !== String(expected.admin))
        fail(where, `ADMIN_PORT=${env.ADMIN_PORT}, expected ${expected.admin} (the admin listener)`);
      const want = [expected.http, expected.grpc, expected.admin].filter((p): p is number => p !== undefined);
      const got = composePorts(svc);
      for (const p of want) {
        if (!got.some((g) => g.published === p && g.target === p))
          fail(where, `port ${p} is not published as 127.0.0.1:${p}:${p}`);
      }
      for (const g of got)
        if (!want.includes(g.target)) fail(where, `publishes container port ${g.target}, not one of ${want.join('/')}`);
    }
    if (withDb.includes(name) && env.DB_NAME !== `shoplab_${name}`)
      fail(where, `DB_NAME=${env.DB_NAME}, expected shoplab_${name}`);
    if (svc.read_only !== true) fail(where, 'read_only: true is missing (the image writes only /tmp)');
    const deps = obj(svc.depends_on);
    const need: Record<string, string> = { consul: 'service_healthy' };
    if (withDb.includes(name)) need.migrate = 'service_completed_successfully';
    if (publishing.includes(name)) need['kafka-init'] = 'service_completed_successfully';
    for (const [dep, cond] of Object.entries(need)) {
      const c = str(obj(deps[dep]).condition);
      if (c !== cond) fail(where, `depends_on ${dep} should be condition: ${cond} (is ${c || 'missing'})`);
    }
  }
  // migrate / kafka-init / postgres / prometheus / jaeger
  const migrate = obj(composeServices.migrate);
  if (!isObj(composeServices.migrate)) fail('compose', 'no one-shot migrate service');
  else {
    if (str(obj(migrate.build).target) !== 'migrate')
      fail('compose migrate', 'must build the Dockerfile target "migrate"');
    const listed = topicList(composeEnv(migrate).MIGRATE_SERVICES ?? '');
    if (!sameSet(listed, withDb))
      fail('compose migrate', `MIGRATE_SERVICES is ${fmt(listed)}; services with migrations: ${fmt(withDb)}`);
    if (str(obj(obj(migrate.depends_on).postgres).condition) !== 'service_healthy')
      fail('compose migrate', 'must depend on postgres being healthy');
  }
  const expectedTopics = publishing.map((s) => `${s}.events`);
  const composeTopics = topicList(composeEnv(obj(composeServices['kafka-init'])).SHOPLAB_TOPICS ?? '');
  for (const t of composeTopics) {
    const m = /^([a-z][a-z0-9-]*)\.events$/.exec(t);
    if (!m || !services.includes(m[1]!))
      fail('compose kafka-init', `topic ${t} is not <service>.events of a service in services/`);
  }
  if (!sameSet(composeTopics, expectedTopics))
    fail('compose kafka-init', `SHOPLAB_TOPICS is ${fmt(composeTopics)}; expected ${fmt(expectedTopics)}`);
  const expectedDbs = withDb.map((s) => `shoplab_${s}`);
  const pg = obj(composeServices.postgres);
  const init = composeBindSources(pg).filter((b) => b.target.startsWith('/docker-entrypoint-initdb.d'));
  if (init.length === 0) fail('compose postgres', 'no init script mounted in /docker-entrypoint-initdb.d');
  for (const b of init) {
    if (!existsSync(b.source)) fail('compose postgres', `init script ${b.source} does not exist`);
    else {
      const dbs = createDatabases(readFileSync(b.source, 'utf8'));
      if (!sameSet(dbs, expectedDbs))
        fail(`compose postgres ${b.source}`, `creates ${fmt(dbs)}; expected ${fmt(expectedDbs)}`);
    }
  }
  const promMounts = composeBindSources(obj(composeServices.prometheus)).filter((b) =>
    b.target.endsWith('prometheus.yml'),
  );
  const promConfig = obj(input.compose.mounts[promMounts[0]?.source ?? '']);
  const shoplabJob = arr(promConfig.scrape_configs)
    .map(obj)
    .find((j) => j.job_name === 'shoplab');
  if (!shoplabJob) fail('compose prometheus', 'its config has no job "shoplab" (the native stack\'s job name)');
  else {
    const consul = arr(shoplabJob.consul_sd_configs).map(obj);
    if (!consul.some((c) => str(c.server) === 'consul:8500'))
      fail(
        'compose prometheus',
        'job shoplab does not discover the services in Consul (consul_sd_configs server consul:8500)',
      );
    if (
      !arr(shoplabJob.relabel_configs)
        .map(obj)
        .some((r) => str(r.target_label) === 'service')
    )
      fail('compose prometheus', 'job shoplab sets no "service" label');
  }
  // The operator tools' own doors: no HTTP lifecycle API, no anonymous Grafana.
  if (arr(obj(composeServices.prometheus).command).map(str).includes('--web.enable-lifecycle'))
    fail('compose prometheus', '--web.enable-lifecycle lets whoever reaches it shut Prometheus down or reload it');
  if (isObj(composeServices.grafana) && composeEnv(obj(composeServices.grafana)).GF_AUTH_ANONYMOUS_ENABLED !== 'false')
    fail('compose grafana', 'GF_AUTH_ANONYMOUS_ENABLED must be "false" (sign in as admin)');
  const jaegerMount = composeBindSources(obj(composeServices.jaeger)).find(
    (b) => b.target === '/etc/jaeger/config.yaml',
  );
  const composeJaeger = jaegerMount ? input.compose.mounts[jaegerMount.source] : undefined;
  if (composeJaeger === undefined)
    fail('compose jaeger', 'no /etc/jaeger/config.yaml mounted (or the file is missing)');

  // ---- k8s (rendered overlay) ---------------------------------------------------------------
  const byKind = (kind: string) => input.k8s.filter((o) => o.kind === kind);
  const named = (kind: string, name: string) => byKind(kind).find((o) => obj(o.metadata).name === name);
  const configMaps = new Map(byKind('ConfigMap').map((c) => [str(obj(c.metadata).name), c]));
  const secrets = new Map(byKind('Secret').map((c) => [str(obj(c.metadata).name), c]));
  // A pod's volume from a ConfigMap names one that is rendered, exactly: kustomize renames a
  // generated ConfigMap (its hash suffix) but not a reference that a patch added.
  for (const d of byKind('Deployment').concat(byKind('StatefulSet'))) {
    const podSpec = obj(obj(obj(d.spec).template).spec);
    for (const v of arr(podSpec.volumes).map(obj)) {
      const cm = obj(v.configMap);
      const name = str(cm.name);
      if (name && cm.optional !== true && !configMaps.has(name))
        fail(
          `k8s ${d.kind}/${str(obj(d.metadata).name)}`,
          `volume ${str(v.name)} mounts the ConfigMap ${name}, which is not rendered`,
        );
    }
  }
  const secretValue = (name: string, key: string): string | undefined => {
    const s = secrets.get(name);
    if (!s) return undefined;
    const sd = obj(s.stringData);
    if (key in sd) return str(sd[key]);
    const d = obj(s.data);
    return key in d ? Buffer.from(str(d[key]), 'base64').toString('utf8') : undefined;
  };
  /** The environment a container gets: envFrom (ConfigMaps, Secrets) then env. */
  const containerEnv = (where: string, c: Obj): Record<string, string> => {
    const env: Record<string, string> = {};
    for (const from of arr(c.envFrom).map(obj)) {
      const cmName = str(obj(from.configMapRef).name);
      const secName = str(obj(from.secretRef).name);
      if (cmName) {
        const cm = configMaps.get(cmName);
        if (!cm) fail(where, `envFrom ConfigMap ${cmName} does not exist`);
        for (const [k, v] of Object.entries(obj(cm?.data))) env[k] = str(v);
      }
      if (secName) {
        const s = secrets.get(secName);
        if (!s) fail(where, `envFrom Secret ${secName} does not exist`);
        for (const k of [...Object.keys(obj(s?.stringData)), ...Object.keys(obj(s?.data))])
          env[k] = secretValue(secName, k) ?? '';
      }
    }
    for (const e of arr(c.env).map(obj)) {
      const name = str(e.name);
      const vf = obj(e.valueFrom);
      if ('value' in e) env[name] = str(e.value);
      else if (isObj(vf.secretKeyRef)) {
        const ref = obj(vf.secretKeyRef);
        const v = secretValue(str(ref.name), str(ref.key));
        if (v === undefined) fail(where, `${name}: Secret ${str(ref.name)} has no key ${str(ref.key)}`);
        env[name] = v ?? '';
      } else if (isObj(vf.configMapKeyRef)) {
        const ref = obj(vf.configMapKeyRef);
        const v = obj(configMaps.get(str(ref.name))?.data)[str(ref.key)];
        if (v === undefined) fail(where, `${name}: ConfigMap ${str(ref.name)} has no key ${str(ref.key)}`);
        env[name] = str(v);
      } else env[name] = '(from the pod)';
    }
    return env;
  };
  const podSpec = (o: Obj) => obj(obj(obj(o.spec).template).spec);

  const deployments = byKind('Deployment').filter(
    (d) => obj(obj(d.metadata).labels)['app.kubernetes.io/component'] === 'service',
  );
  const k8sApp = deployments.map((d) => str(obj(d.metadata).name));
  if (!sameSet(k8sApp, services)) fail('k8s', `service Deployments are ${fmt(k8sApp)}; services/ has ${fmt(services)}`);
  const staticExpected = services
    .filter((s) => EXPECTED_PORTS[s]?.grpc !== undefined)
    .map((s) => `${s}=${s}:${EXPECTED_PORTS[s]!.grpc}`);
  for (const d of deployments) {
    const name = str(obj(d.metadata).name);
    const where = `k8s Deployment ${name}`;
    const spec = podSpec(d);
    const containers = arr(spec.containers).map(obj);
    const main = containers.find((c) => c.name === name);
    if (!main) {
      fail(where, `no container named ${name}`);
      continue;
    }
    if (!services.includes(name)) continue;
    const expected = EXPECTED_PORTS[name]!;
    const env = containerEnv(where, main);
    checkEnv(where, name, env);
    if (env.REGISTRY_MODE !== 'static')
      fail(where, `REGISTRY_MODE=${env.REGISTRY_MODE}, expected static (Kubernetes Services are the registry)`);
    if (env.SERVICE_NAME !== name) fail(where, `SERVICE_NAME=${env.SERVICE_NAME}, expected ${name}`);
    if (env.HTTP_HOST !== '0.0.0.0') fail(where, 'HTTP_HOST must be 0.0.0.0');
    if (expected.grpc !== undefined && env.GRPC_HOST !== '0.0.0.0') fail(where, 'GRPC_HOST must be 0.0.0.0');
    if (withDb.includes(name) && env.DB_NAME !== `shoplab_${name}`)
      fail(where, `DB_NAME=${env.DB_NAME}, expected shoplab_${name}`);
    for (const [svc, host, port] of addressList(env.STATIC_SERVICES ?? '')) {
      const want = EXPECTED_PORTS[svc]?.grpc;
      if (host !== svc || port !== want)
        fail(where, `STATIC_SERVICES entry ${svc}=${host}:${port}, expected ${svc}=${svc}:${want ?? '(no gRPC)'}`);
    }
    if (name === 'gateway') {
      const http = addressList(env.HTTP_SERVICES ?? '');
      for (const [svc, host, port] of http) {
        const want = EXPECTED_PORTS[svc]?.http;
        if (host !== svc || port !== want)
          fail(where, `HTTP_SERVICES entry ${svc}=${host}:${port}, expected ${svc}=${svc}:${want}`);
      }
      // The web front end calls the gateway, not the other way round.
      const missing = services.filter((s) => s !== 'gateway' && s !== 'web' && !http.some(([n]) => n === s));
      if (missing.length) fail(where, `HTTP_SERVICES lacks ${fmt(missing)}`);
      // Chaos forwarding and the audit on the downstreams' admin listeners.
      const admin = addressList(env.ADMIN_SERVICES ?? '');
      for (const [svc, host, port] of admin) {
        const want = EXPECTED_PORTS[svc]?.admin;
        if (host !== svc || port !== want)
          fail(
            where,
            `ADMIN_SERVICES entry ${svc}=${host}:${port}, expected ${svc}=${svc}:${want ?? '(no admin port)'}`,
          );
      }
      const noAdmin = GATEWAY_ADMIN_DOWNSTREAMS.filter((s) => !admin.some(([n]) => n === s));
      if (noAdmin.length) fail(where, `ADMIN_SERVICES lacks ${fmt(noAdmin)} (chaos forwarding and the audit)`);
    }
    const ports = arr(main.ports).map(obj);
    const portOf = (n: string) => ports.find((p) => p.name === n)?.containerPort;
    if (Number(portOf('http')) !== expected.http)
      fail(where, `containerPort "http" is ${str(portOf('http'))}, expected ${expected.http}`);
    if (expected.grpc !== undefined && Number(portOf('grpc')) !== expected.grpc)
      fail(where, `containerPort "grpc" is ${str(portOf('grpc'))}, expected ${expected.grpc}`);
    if (expected.admin !== undefined) {
      if (Number(portOf('admin')) !== expected.admin)
        fail(where, `containerPort "admin" is ${str(portOf('admin'))}, expected ${expected.admin}`);
      if (env.ADMIN_PORT !== String(expected.admin))
        fail(where, `ADMIN_PORT=${env.ADMIN_PORT}, expected ${expected.admin} (the admin listener)`);
    }
    const probe = (k: string, path: string) => {
      const g = obj(obj(main[k]).httpGet);
      if (str(g.path) !== path || (str(g.port) !== 'http' && Number(g.port) !== expected.http))
        fail(where, `${k} must be GET ${path} on the http port`);
    };
    probe('readinessProbe', '/readyz');
    probe('livenessProbe', '/healthz');
    if (!obj(obj(main.resources).limits).memory) fail(where, 'no memory limit');
    const image = str(main.image);
    if (image !== `shoplab/${name}:dev`) fail(where, `image ${image}, expected shoplab/${name}:dev (overlays/kind)`);
    if (main.imagePullPolicy !== 'Never')
      fail(where, 'imagePullPolicy must be Never in overlays/kind (images are loaded into the node)');
    const sc = obj(main.securityContext);
    if (sc.readOnlyRootFilesystem !== true) fail(where, 'readOnlyRootFilesystem must be true');
    const tmp = arr(main.volumeMounts)
      .map(obj)
      .find((m) => m.mountPath === '/tmp');
    const tmpVol = arr(spec.volumes)
      .map(obj)
      .find((v) => v.name === tmp?.name);
    if (!tmp || !isObj(tmpVol?.emptyDir)) fail(where, 'needs an emptyDir at /tmp (read-only root)');
    // migrations
    const inits = arr(spec.initContainers).map(obj);
    const mig = inits.find((c) => c.name === 'migrate');
    if (withDb.includes(name)) {
      if (!mig) fail(where, 'no init container "migrate"');
      else {
        const menv = containerEnv(`${where} (migrate)`, mig);
        if (menv.MIGRATE_SERVICES !== name)
          fail(`${where} (migrate)`, `MIGRATE_SERVICES=${menv.MIGRATE_SERVICES}, expected ${name}`);
        if (str(mig.image) !== 'shoplab/migrate:dev')
          fail(`${where} (migrate)`, `image ${str(mig.image)}, expected shoplab/migrate:dev`);
        if (mig.imagePullPolicy !== 'Never')
          fail(`${where} (migrate)`, 'imagePullPolicy must be Never in overlays/kind');
      }
    } else if (mig) fail(where, `has a migrate init container but services/${name} has no migrations`);
    // its Service
    const service = named('Service', name);
    if (!service) fail(where, `no Service named ${name}`);
    else {
      const sp = arr(obj(service.spec).ports).map(obj);
      // Each named port of the table: the Service's port of that name, to the container port of that name.
      for (const [portName, want] of [
        ['http', expected.http],
        ['grpc', expected.grpc],
        ['admin', expected.admin],
      ] as const) {
        if (want === undefined) continue;
        const port = sp.find((p) => p.name === portName);
        if (
          !port ||
          Number(port.port) !== want ||
          (str(port.targetPort) !== portName && Number(port.targetPort) !== want)
        )
          fail(`k8s Service ${name}`, `port "${portName}" must be ${want} → ${portName}`);
      }
      const sel = obj(obj(service.spec).selector);
      const labels = obj(obj(obj(obj(d.spec).template).metadata).labels);
      if (!Object.entries(sel).every(([k, v]) => labels[k] === v))
        fail(`k8s Service ${name}`, "its selector does not match the Deployment's pods");
    }
  }
  // The catalog's TLS sidecar (docs/patterns/sidecar.md): an nginx container in the catalog's pod
  // on grpc-tls, published by the catalog Service, with its callers dialling it over TLS.
  const catalogPod = named('Deployment', 'catalog');
  if (catalogPod) {
    const where = 'k8s Deployment catalog (sidecar)';
    const spec = podSpec(catalogPod);
    const sidecar = arr(spec.containers)
      .map(obj)
      .find((c) => c.name === 'sidecar');
    const volumes = arr(spec.volumes).map(obj);
    const fromSecret = (secret: string) => volumes.some((v) => obj(v.secret).secretName === secret);
    if (!sidecar) fail(where, 'no container "sidecar"');
    else {
      if (!str(sidecar.image).startsWith('nginx:')) fail(where, `image ${str(sidecar.image)}, expected nginx:…`);
      const port = arr(sidecar.ports)
        .map(obj)
        .find((p) => p.name === 'grpc-tls');
      if (Number(port?.containerPort) !== 9443) fail(where, 'containerPort "grpc-tls" must be 9443');
      if (!fromSecret('catalog-sidecar-tls')) fail(where, 'no volume from the Secret catalog-sidecar-tls');
      if (!volumes.some((v) => str(obj(v.configMap).name) === 'catalog-sidecar-nginx'))
        fail(where, 'no volume from the ConfigMap catalog-sidecar-nginx');
    }
    const main = arr(spec.containers)
      .map(obj)
      .find((c) => c.name === 'catalog');
    if (main && containerEnv(where, main).ACCESS_LOG !== 'http')
      fail(where, 'the catalog must leave its gRPC access log to the sidecar (ACCESS_LOG=http)');
    const tlsPort = arr(obj(named('Service', 'catalog')?.spec).ports)
      .map(obj)
      .find((p) => p.name === 'grpc-tls');
    if (Number(tlsPort?.port) !== 9443 || str(tlsPort?.targetPort) !== 'grpc-tls')
      fail('k8s Service catalog', 'port "grpc-tls" must be 9443 → grpc-tls (the sidecar)');
    for (const caller of ['gateway', 'cart', 'order']) {
      const d = named('Deployment', caller);
      const c =
        d &&
        arr(podSpec(d).containers)
          .map(obj)
          .find((x) => x.name === caller);
      if (!d || !c) continue;
      const env = containerEnv(`k8s Deployment ${caller}`, c);
      if (env.SIDECAR_SERVICES !== 'catalog=catalog:9443' || !env.SIDECAR_CA_FILE)
        fail(
          `k8s Deployment ${caller}`,
          'must dial the catalog through its sidecar: SIDECAR_SERVICES=catalog=catalog:9443 and SIDECAR_CA_FILE',
        );
      if (
        !arr(podSpec(d).volumes)
          .map(obj)
          .some((v) => obj(v.secret).secretName === 'catalog-sidecar-tls')
      )
        fail(`k8s Deployment ${caller}`, "needs the sidecar's CA from the Secret catalog-sidecar-tls");
    }
  }
  // Payment's ambassador (docs/patterns/ambassador.md): HAProxy in payment's pod with the committed
  // config, payment calling it on the pod's loopback, the ambassador calling the card network.
  const paymentPod = named('Deployment', 'payment');
  if (paymentPod) {
    const where = 'k8s Deployment payment (ambassador)';
    const spec = podSpec(paymentPod);
    const containers = arr(spec.containers).map(obj);
    const ambassador = containers.find((c) => c.name === 'ambassador');
    if (!ambassador) fail(where, 'no container "ambassador"');
    else {
      if (!str(ambassador.image).startsWith('haproxy:'))
        fail(where, `image ${str(ambassador.image)}, expected haproxy:…`);
      const env = containerEnv(where, ambassador);
      if (env.AMBASSADOR_BIND !== '127.0.0.1:18090' || env.CARD_NETWORK_ADDR !== 'card-network:8090')
        fail(where, 'HAProxy must listen on 127.0.0.1:18090 and call card-network:8090');
      const mapName = arr(spec.volumes)
        .map(obj)
        .map((v) => str(obj(v.configMap).name))
        .find((n) => n.startsWith('payment-ambassador-haproxy'));
      // The exact name: a volume naming a ConfigMap the overlay does not make leaves the pod pending.
      const cfg = str(obj(configMaps.get(mapName ?? '')?.data)['haproxy.cfg']);
      const committed = readFileSync(join(root, 'infra', 'haproxy', 'card-network-ambassador.cfg'), 'utf8');
      if (cfg !== committed)
        fail(
          where,
          `its ConfigMap ${mapName ?? '(none)'} haproxy.cfg (${cfg.length} characters) differs from infra/haproxy/card-network-ambassador.cfg`,
        );
    }
    const main = containers.find((c) => c.name === 'payment');
    const env = main ? containerEnv(where, main) : {};
    if (env.CARD_NETWORK_MODE !== 'ambassador' || env.CARD_NETWORK_AMBASSADOR_URL !== 'http://127.0.0.1:18090')
      fail(
        where,
        'payment must call the card network through its ambassador (CARD_NETWORK_MODE=ambassador, 127.0.0.1:18090)',
      );
  }
  const common = configMaps.get([...configMaps.keys()].find((k) => k.startsWith('shoplab-common')) ?? '');
  const staticServices = str(obj(common?.data).STATIC_SERVICES);
  if (staticServices && !sameSet(staticServices.split(','), staticExpected))
    fail('k8s ConfigMap shoplab-common', `STATIC_SERVICES is ${staticServices}; expected ${staticExpected.join(',')}`);

  // every pod: the restricted security profile, memory limits, no service links
  for (const kind of ['Deployment', 'StatefulSet', 'Job']) {
    for (const o of byKind(kind)) {
      const where = `k8s ${kind} ${str(obj(o.metadata).name)}`;
      const spec = podSpec(o);
      const psc = obj(spec.securityContext);
      if (psc.runAsNonRoot !== true) fail(where, 'pod securityContext.runAsNonRoot must be true');
      if (str(obj(psc.seccompProfile).type) !== 'RuntimeDefault')
        fail(where, 'pod seccompProfile must be RuntimeDefault');
      if (spec.enableServiceLinks !== false)
        fail(where, 'enableServiceLinks must be false (the environment is exactly what is listed)');
      for (const c of [...arr(spec.initContainers), ...arr(spec.containers)].map(obj)) {
        const sc = obj(c.securityContext);
        if (sc.allowPrivilegeEscalation !== false)
          fail(`${where} container ${str(c.name)}`, 'allowPrivilegeEscalation must be false');
        if (!arr(obj(sc.capabilities).drop).includes('ALL'))
          fail(`${where} container ${str(c.name)}`, 'capabilities must drop ALL');
        if (!obj(obj(c.resources).limits).memory) fail(`${where} container ${str(c.name)}`, 'no memory limit');
      }
    }
  }

  // infrastructure agreement with compose
  const k8sInit = [...configMaps.entries()].find(([k]) => k.startsWith('postgres-init'))?.[1];
  const k8sDbs = Object.values(obj(k8sInit?.data)).flatMap((v) => createDatabases(str(v)));
  if (!sameSet(k8sDbs, expectedDbs))
    fail('k8s ConfigMap postgres-init', `creates ${fmt(k8sDbs)}; expected ${fmt(expectedDbs)}`);
  const topicsJob = named('Job', 'kafka-topics');
  const jobEnv = topicsJob ? containerEnv('k8s Job kafka-topics', obj(arr(podSpec(topicsJob).containers)[0])) : {};
  const k8sTopics = topicList(jobEnv.SHOPLAB_TOPICS ?? '');
  if (!sameSet(k8sTopics, expectedTopics))
    fail('k8s Job kafka-topics', `SHOPLAB_TOPICS is ${fmt(k8sTopics)}; expected ${fmt(expectedTopics)}`);
  const k8sJaeger = [...configMaps.entries()].find(([k]) => k.startsWith('jaeger-config'))?.[1];
  const k8sJaegerConfig = obj(k8sJaeger?.['x-parsed'])['config.yaml'];
  if (composeJaeger !== undefined && JSON.stringify(k8sJaegerConfig) !== JSON.stringify(composeJaeger)) {
    fail(
      'k8s ConfigMap jaeger-config',
      'differs from the Jaeger config that compose mounts (infra/compose/jaeger/config.yaml)',
    );
  }
  const k8sProm = [...configMaps.entries()].find(([k]) => k.startsWith('prometheus-config'))?.[1];
  const k8sPromConfig = obj(obj(k8sProm?.['x-parsed'])['prometheus.yml']);
  const k8sJob = arr(k8sPromConfig.scrape_configs)
    .map(obj)
    .find((j) => j.job_name === 'shoplab');
  const targets = arr(k8sJob?.static_configs)
    .map(obj)
    .flatMap((sc) => arr(sc.targets).map((t) => `${str(obj(sc.labels).service)}@${str(t)}`));
  const wantTargets = services.map((s) => `${s}@${s}:${EXPECTED_PORTS[s]?.http}`);
  if (!sameSet(targets, wantTargets))
    fail(
      'k8s ConfigMap prometheus-config',
      `job shoplab scrapes ${fmt(targets)}; expected ${fmt(wantTargets)} (service@host:http-port)`,
    );

  // Scale-out (k8s/base/scaling.yaml): every stateless service runs two replicas or more, a
  // PodDisruptionBudget keeps one of them through a drain, and an HPA on CPU utilisation (which
  // needs a CPU request in every container of the pod) scales it; the single-replica services
  // have none of these, so that nothing scales what must run once.
  const selects = (selector: Obj, labels: Obj) => {
    const match = Object.entries(obj(selector.matchLabels));
    return match.length > 0 && match.every(([k, v]) => str(labels[k]) === str(v));
  };
  for (const d of deployments) {
    const name = str(obj(d.metadata).name);
    const where = `k8s Deployment ${name} (scale-out)`;
    const podLabels = obj(obj(obj(obj(d.spec).template).metadata).labels);
    const replicas = obj(d.spec).replicas === undefined ? 1 : Number(obj(d.spec).replicas);
    const pdbs = byKind('PodDisruptionBudget').filter((p) => selects(obj(obj(p.spec).selector), podLabels));
    const hpas = byKind('HorizontalPodAutoscaler').filter((h) => {
      const ref = obj(obj(h.spec).scaleTargetRef);
      return str(ref.kind) === 'Deployment' && str(ref.name) === name;
    });
    const single = SINGLE_REPLICA[name];
    if (single !== undefined) {
      if (replicas !== 1) fail(where, `replicas ${replicas}: it must run once, ${single}`);
      if (hpas.length > 0) fail(where, `an HPA would scale it, but it must run once: ${single}`);
      continue;
    }
    if (replicas < 2) fail(where, `replicas ${replicas}: a stateless service runs at least 2`);
    const pdb = pdbs[0];
    if (!pdb) fail(where, 'no PodDisruptionBudget selects its pods');
    else if (Number(obj(pdb.spec).minAvailable ?? 0) < 1)
      fail(where, `PodDisruptionBudget ${str(obj(pdb.metadata).name)} must keep minAvailable ≥ 1`);
    const hpa = hpas[0];
    if (!hpa) {
      fail(where, 'no HorizontalPodAutoscaler targets it');
      continue;
    }
    const hs = obj(hpa.spec);
    const min = Number(hs.minReplicas ?? 1);
    if (min < 2) fail(where, `HPA minReplicas ${min}, expected ≥ 2`);
    if (!(Number(hs.maxReplicas) > min)) fail(where, `HPA maxReplicas ${str(hs.maxReplicas)} must exceed minReplicas`);
    const cpu = arr(hs.metrics)
      .map(obj)
      .find((m) => str(m.type) === 'Resource' && str(obj(m.resource).name) === 'cpu');
    if (!cpu || str(obj(obj(cpu.resource).target).type) !== 'Utilization')
      fail(where, 'the HPA has no CPU Utilization target');
    for (const c of arr(podSpec(d).containers).map(obj)) {
      if (obj(obj(c.resources).requests).cpu === undefined)
        fail(where, `container ${str(c.name)} has no CPU request: the HPA's utilisation cannot be computed`);
    }
  }

  // kind: the NodePorts behind the host ports of kind-cluster.yaml
  const nodePorts = new Map<number, string>();
  for (const s of byKind('Service')) {
    for (const p of arr(obj(s.spec).ports).map(obj))
      if (p.nodePort !== undefined) nodePorts.set(Number(p.nodePort), `${str(obj(s.metadata).name)}:${str(p.port)}`);
  }
  const mappings = arr(obj(arr(input.kindCluster.nodes)[0]).extraPortMappings).map(obj);
  for (const m of mappings) {
    if (!nodePorts.has(Number(m.containerPort)))
      fail(
        'k8s/overlays/kind/kind-cluster.yaml',
        `hostPort ${str(m.hostPort)} maps to nodePort ${str(m.containerPort)}, which no Service has`,
      );
    if (str(m.listenAddress) !== '127.0.0.1')
      fail(
        'k8s/overlays/kind/kind-cluster.yaml',
        `hostPort ${str(m.hostPort)} listens on ${str(m.listenAddress) || 'every interface'}, not 127.0.0.1`,
      );
  }
  const gatewayMapping = mappings.find(
    (m) => nodePorts.get(Number(m.containerPort)) === `gateway:${EXPECTED_PORTS.gateway!.http}`,
  );
  if (!gatewayMapping || Number(gatewayMapping.hostPort) !== EXPECTED_PORTS.gateway!.http)
    fail('k8s/overlays/kind', `the gateway is not published on the host's ${EXPECTED_PORTS.gateway!.http}`);

  // memory budget table in docs/deployment.md
  notes.push(
    `compose memory limits: ${Object.entries(memory)
      .map(([k, v]) => `${k} ${v}M`)
      .join(', ')}; total ${memoryTotal} MiB`,
  );
  if (input.docs !== undefined) {
    for (const [name, mb] of Object.entries(memory)) {
      const row = new RegExp(`^\\|\\s*\`?${name}\`?\\s*\\|\\s*(\\d+)\\s*MiB`, 'm').exec(input.docs);
      if (!row) fail('docs/deployment.md', `the memory budget table has no row for ${name}`);
      else if (Number(row[1]) !== mb)
        fail('docs/deployment.md', `memory budget of ${name} is ${row[1]} MiB; docker-compose.yml says ${mb}`);
    }
  }
  return { problems, notes };
}

/** `--name value` pairs of a checker's command line, and `read(name)`: the JSON file it names. */
export function cliArgs(argv: string[]): { args: Map<string, string>; read: <T>(k: string) => T } {
  const args = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 2) args.set(argv[i]!.replace(/^--/, ''), argv[i + 1] ?? '');
  return { args, read: <T>(k: string) => JSON.parse(readFileSync(args.get(k) ?? '', 'utf8')) as T };
}

function main(argv: string[]): number {
  const { args, read } = cliArgs(argv);
  const docsPath = args.get('docs');
  const { problems, notes } = checkConsistency({
    root: args.get('root') ?? '.',
    compose: read('compose'),
    k8s: read('k8s'),
    kindCluster: read('kind-cluster'),
    ...(docsPath ? { docs: existsSync(docsPath) ? readFileSync(docsPath, 'utf8') : '' } : {}),
  });
  for (const n of notes) console.log(`consistency: ${n}`);
  for (const p of problems) console.log(`FAIL ${p}`);
  console.log(problems.length === 0 ? 'consistency: ok' : `consistency: ${problems.length} problem(s)`);
  return problems.length === 0 ? 0 : 1;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
