// The NetworkPolicies of a rendered k8s/ against k8s/allowed-callers.yaml (the table): run by
// scripts/deploy-check.sh (step "policies") on the renderings of k8s/base and k8s/overlays/kind.
//
//   node test/deploy/dist/network-policies.js --root . --table table.json --k8s k8s.json [--overlay kind]
//
// The policies are evaluated as Kubernetes does: a pod that no Ingress policy selects admits
// everything; a selected pod admits a connection when any rule of any policy selecting it
// matches the port (number or container port name) and the source (pod selectors in the
// namespace; a namespace selector or an address block also admits what is outside). Every
// (workload, port) must admit exactly the callers the table lists, and the table's gRPC, database
// and Kafka rows must be what the code has (the gRPC rows also what the chassis' servers admit). Every problem is one line; exit status 1 when any.
import { join } from 'node:path';
import {
  arr,
  cliArgs,
  isObj,
  type Json,
  loadSchema,
  type Obj,
  obj,
  repoServices,
  servicesWithMigrations,
  str,
} from './consistency';

/** The pods of a workload: their labels and their containers' named ports. */
export interface Workload {
  name: string;
  labels: Record<string, string>;
  ports: Map<string, number>;
}
/** Anything that is not a pod of the namespace: a NodePort's traffic, another namespace. */
export const OUTSIDE = 'outside';
type Source = Workload | typeof OUTSIDE;
/** k8s/allowed-callers.yaml: workload → port name → callers. */
export type Rows = Record<string, Record<string, string[]>>;
export interface Table {
  callers: Rows;
  overlays?: Record<string, Rows>;
}

const NAME = 'app.kubernetes.io/name';

export function workloads(objects: Obj[]): Workload[] {
  return objects
    .filter((o) => ['Deployment', 'StatefulSet', 'Job'].includes(str(o.kind)))
    .map((o) => {
      const template = obj(obj(o.spec).template);
      const labels = Object.fromEntries(
        Object.entries(obj(obj(template.metadata).labels)).map(([k, v]) => [k, str(v)]),
      );
      const ports = new Map<string, number>();
      for (const c of arr(obj(template.spec).containers).map(obj))
        for (const p of arr(c.ports).map(obj)) if (p.name) ports.set(str(p.name), Number(p.containerPort));
      return { name: labels[NAME] ?? str(obj(o.metadata).name), labels, ports };
    });
}

/** A label selector (matchLabels and matchExpressions) against a set of labels. */
export function selects(selector: Obj, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(obj(selector.matchLabels))) if (labels[k] !== str(v)) return false;
  for (const e of arr(selector.matchExpressions).map(obj)) {
    const key = str(e.key);
    const values = arr(e.values).map(str);
    const has = key in labels;
    const ok =
      e.operator === 'In'
        ? has && values.includes(labels[key]!)
        : e.operator === 'NotIn'
          ? !has || !values.includes(labels[key]!)
          : e.operator === 'Exists'
            ? has
            : e.operator === 'DoesNotExist'
              ? !has
              : false;
    if (!ok) return false;
  }
  return true;
}

function peerAdmits(peer: Obj, source: Source, namespace: string): boolean {
  // An address block may hold anything, pods of the namespace included: read it as admitting all.
  if (isObj(peer.ipBlock)) return true;
  if (isObj(peer.namespaceSelector)) {
    if (source === OUTSIDE) return true; // some other namespace may match
    if (!selects(peer.namespaceSelector, { 'kubernetes.io/metadata.name': namespace })) return false;
    return !isObj(peer.podSelector) || selects(peer.podSelector, source.labels);
  }
  if (isObj(peer.podSelector)) return source !== OUTSIDE && selects(peer.podSelector, source.labels);
  return false;
}

function portMatches(rulePorts: Json | undefined, name: string, number: number): boolean {
  const ports = arr(rulePorts).map(obj);
  if (ports.length === 0) return true;
  return ports.some((p) => {
    if (str(p.protocol || 'TCP') !== 'TCP') return false;
    if (p.port === undefined || p.port === null) return true;
    if (typeof p.port === 'string' && !/^\d+$/.test(p.port)) return p.port === name;
    const from = Number(p.port);
    const to = p.endPort === undefined ? from : Number(p.endPort);
    return number >= from && number <= to;
  });
}

/** Who may connect to each (workload, port): "workload:port" → the sources' names (or OUTSIDE). */
export function admitted(objects: Obj[], namespace: string): Map<string, Set<string>> {
  const all = workloads(objects);
  const sources: Source[] = [...all, OUTSIDE];
  const policies = objects
    .filter((o) => o.kind === 'NetworkPolicy')
    .filter((p) => [namespace, ''].includes(str(obj(p.metadata).namespace)))
    .map((p) => obj(p.spec))
    .filter((spec) => {
      const types = arr(spec.policyTypes).map(str);
      return types.length === 0 || types.includes('Ingress');
    });
  const out = new Map<string, Set<string>>();
  for (const target of all) {
    const mine = policies.filter((spec) => selects(obj(spec.podSelector), target.labels));
    for (const [port, number] of target.ports) {
      const ok = sources.filter(
        (s) =>
          mine.length === 0 ||
          mine.some((spec) =>
            arr(spec.ingress)
              .map(obj)
              .some((rule) => {
                const from = arr(rule.from).map(obj);
                return (
                  portMatches(rule.ports, port, number) &&
                  (from.length === 0 || from.some((peer) => peerAdmits(peer, s, namespace)))
                );
              }),
          ),
      );
      out.set(`${target.name}:${port}`, new Set(ok.map((s) => (s === OUTSIDE ? OUTSIDE : s.name))));
    }
  }
  return out;
}

/** The table's rows for a rendering: the base's, plus the overlay's (policies are additive). */
export function expectedRows(table: Table, overlay: string): Rows {
  const rows: Rows = {};
  for (const layer of [table.callers, overlay ? (table.overlays?.[overlay] ?? {}) : {}]) {
    for (const [w, ports] of Object.entries(layer)) {
      rows[w] ??= {};
      for (const [p, callers] of Object.entries(ports ?? {})) rows[w]![p] = [...(rows[w]![p] ?? []), ...callers];
    }
  }
  return rows;
}

const list = (s: Iterable<string>) => [...s].sort().join(' ') || '(none)';

export function checkPolicies(input: {
  root: string;
  table: Table;
  k8s: Obj[];
  overlay: string;
  namespace?: string;
}): string[] {
  const problems: string[] = [];
  const namespace = input.namespace ?? 'shoplab';
  const all = workloads(input.k8s);
  const names = new Set(all.map((w) => w.name));
  const rows = expectedRows(input.table, input.overlay);
  if (input.overlay && !input.table.overlays?.[input.overlay])
    problems.push(`table: no overlays.${input.overlay} section (an empty one if the overlay adds nothing)`);

  // The table itself: known workloads, ports and callers.
  for (const [w, ports] of Object.entries(rows)) {
    const workload = all.find((x) => x.name === w);
    if (!workload) {
      problems.push(`table: ${w} is not a workload of the rendering`);
      continue;
    }
    for (const [p, callers] of Object.entries(ports)) {
      if (!workload.ports.has(p)) problems.push(`table: ${w} has no container port named ${p}`);
      for (const c of callers)
        if (c !== 'anyone' && c !== '*' && !names.has(c))
          problems.push(`table: caller ${c} of ${w}:${p} is not a workload`);
    }
  }
  for (const w of names)
    if (!(w in rows)) problems.push(`table: ${w} has no row (every workload needs one, {} for none)`);

  // The policies against the table.
  const everyPod = [...names];
  const got = admitted(input.k8s, namespace);
  for (const [key, sources] of got) {
    const [w, p] = key.split(':') as [string, string];
    const callers = rows[w]?.[p] ?? [];
    const want = new Set(
      callers.flatMap((c) => (c === 'anyone' ? [...everyPod, OUTSIDE] : c === '*' ? everyPod : [c])),
    );
    const extra = [...sources].filter((s) => !want.has(s));
    const missing = [...want].filter((s) => !sources.has(s));
    const port = `${key} (${all.find((x) => x.name === w)?.ports.get(p)})`;
    if (extra.length)
      problems.push(`NetworkPolicy: ${port} admits ${list(extra)}, which k8s/allowed-callers.yaml does not list`);
    if (missing.length)
      problems.push(`NetworkPolicy: ${port} does not admit ${list(missing)}, which k8s/allowed-callers.yaml lists`);
  }

  // The table against the code: gRPC callers are the STATIC_SERVICES defaults of each service's
  // config; PostgreSQL's users the services with migrations; Kafka's those with KAFKA_BROKERS.
  const services = repoServices(input.root);
  const grpcCallers = new Map<string, Set<string>>();
  const kafkaUsers = new Set<string>();
  for (const s of services) {
    const file = join(input.root, 'services', s, 'dist', 'src', 'config.js');
    const shape = (require(file) as { configSchema: { shape: Record<string, { safeParse(v: unknown): unknown }> } })
      .configSchema.shape;
    const parsed = shape.STATIC_SERVICES?.safeParse(undefined) as { success: boolean; data?: Record<string, unknown> };
    for (const target of Object.keys(parsed?.success ? (parsed.data ?? {}) : {})) {
      if (!grpcCallers.has(target)) grpcCallers.set(target, new Set());
      grpcCallers.get(target)!.add(s);
    }
    if (loadSchema(input.root, s).keys.has('KAFKA_BROKERS')) kafkaUsers.add(s);
  }
  const compare = (where: string, tableSet: string[], code: Iterable<string>, what: string) => {
    if (list(tableSet) !== list(code))
      problems.push(`table: ${where} lists ${list(tableSet)}; ${what} says ${list(code)}`);
  };
  for (const s of services) {
    if (!all.find((w) => w.name === s)?.ports.has('grpc')) continue;
    compare(`${s}:grpc`, input.table.callers[s]?.grpc ?? [], grpcCallers.get(s) ?? [], "the services' STATIC_SERVICES");
  }
  // The chassis' copy of the gRPC rows: the callers each service's gRPC server admits on every
  // call (packages/chassis/src/allowed-callers.ts) are the table's.
  const chassisFile = join(input.root, 'packages', 'chassis', 'dist', 'src', 'allowed-callers.js');
  const chassis = (require(chassisFile) as { GRPC_CALLERS: Record<string, string[]> }).GRPC_CALLERS;
  const grpcRows = Object.entries(input.table.callers).filter(([, ports]) => ports?.grpc);
  for (const w of new Set([...Object.keys(chassis), ...grpcRows.map(([w]) => w)]))
    compare(
      `${w}:grpc`,
      input.table.callers[w]?.grpc ?? [],
      chassis[w] ?? [],
      'packages/chassis/src/allowed-callers.ts',
    );
  compare(
    'postgres:postgres',
    input.table.callers.postgres?.postgres ?? [],
    servicesWithMigrations(input.root, services),
    'services/*/prisma/migrations',
  );
  const kafkaTable = (input.table.callers.kafka?.kafka ?? []).filter((c) => services.includes(c));
  compare('kafka:kafka (services)', kafkaTable, kafkaUsers, "the config schemas' KAFKA_BROKERS");
  return problems;
}

function main(argv: string[]): number {
  const { args, read } = cliArgs(argv);
  const overlay = args.get('overlay') ?? '';
  const k8s = read('k8s') as Obj[];
  const problems = checkPolicies({ root: args.get('root') ?? '.', table: read('table') as Table, k8s, overlay });
  for (const p of problems) console.log(`FAIL ${p}`);
  const count = k8s.filter((o) => o.kind === 'NetworkPolicy').length;
  console.log(
    problems.length === 0
      ? `policies: ${count} NetworkPolicies admit exactly the callers of the table (${overlay || 'base'})`
      : `policies: ${problems.length} problem(s)`,
  );
  return problems.length === 0 ? 0 : 1;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
