// scripts/deploy-check.sh passes on the repository's deployment files, and each of its checks
// fails on a copy broken in one deliberate way (so a check that silently passes everything is
// caught). Run: bash scripts/test.sh deploy   (needs `make build`; installs its tools once).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';

const root = resolve(__dirname, '..', '..', '..');
let scratch = '';

function deployCheck(...args: string[]): { status: number | null; output: string } {
  const r = spawnSync('bash', [join(root, 'scripts', 'deploy-check.sh'), ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 600_000,
  });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

/** Replaces `from` by `to` in a file, failing the test if `from` is not there exactly once. */
function edit(file: string, from: string, to: string): void {
  const text = readFileSync(file, 'utf8');
  assert.equal(text.split(from).length - 1, 1, `${file} should contain exactly one ${JSON.stringify(from)}`);
  writeFileSync(file, text.replace(from, to));
}

/** A copy of docker-compose.yml with the files it mounts, in a fresh folder. */
function composeCopy(name: string): string {
  const dir = join(scratch, name);
  cpSync(join(root, 'docker-compose.yml'), join(dir, 'docker-compose.yml'));
  for (const sub of ['compose', 'grafana', 'prometheus']) {
    cpSync(join(root, 'infra', sub), join(dir, 'infra', sub), { recursive: true });
  }
  return join(dir, 'docker-compose.yml');
}

/** A copy of k8s/ in a fresh folder. */
function k8sCopy(name: string): string {
  const dir = join(scratch, name, 'k8s');
  cpSync(join(root, 'k8s'), dir, { recursive: true });
  return dir;
}

/** Drops the digest from the one `image:` (or `ARG …IMAGE=`) of `name` in a file: name:tag@sha256:… → name:tag. */
function unpin(file: string, name: string): void {
  const text = readFileSync(file, 'utf8');
  const escaped = name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  const pinned = new RegExp(`((?:image: |IMAGE=)${escaped}:[^@\\s]+)@sha256:[0-9a-f]{64}`, 'g');
  assert.equal(text.match(pinned)?.length, 1, `${file} should pin ${name} by digest exactly once`);
  writeFileSync(file, text.replace(pinned, '$1'));
}

function assertFails(r: { status: number | null; output: string }, ...expected: RegExp[]): void {
  assert.equal(r.status, 1, `deploy-check should fail, exit ${r.status}:\n${r.output}`);
  for (const re of expected) assert.match(r.output, re);
}

describe('scripts/deploy-check.sh', () => {
  before(() => {
    scratch = mkdtempSync(join(tmpdir(), 'deploy-check-test-'));
    // Installs the tools on the first run; later runs reuse them.
    const r = deployCheck('--install-only');
    assert.equal(r.status, 0, r.output);
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  test("the repository's Dockerfile, docker-compose.yml and k8s/ pass every check", () => {
    const r = deployCheck();
    assert.equal(r.status, 0, r.output);
    for (const step of [
      /ok {4}hadolint Dockerfile/,
      /ok {4}the Dockerfile's base image pinned by digest/,
      /ok {4}third-party images pinned by digest in docker-compose\.yml/,
      /ok {4}third-party images pinned by digest in k8s\/base/,
      /ok {4}third-party images pinned by digest in k8s\/overlays\/kind/,
      /ok {4}docker-compose config -q/,
      /ok {4}check-jsonschema vendor\.compose-spec/,
      /ok {4}kubernetes-validate --strict k8s\/overlays\/kind/,
      /ok {4}no Secret committed in k8s\/overlays\/kind/,
      /ok {4}compose refuses to start without ADMIN_TOKEN JWT_PRIVATE_KEY JWT_PUBLIC_KEY SERVICE_PUBLIC_KEYS CARD_ENCRYPTION_KEY POSTGRES_PASSWORD/,
      /ok {4}NetworkPolicies of k8s\/base admit exactly the callers/,
      /ok {4}NetworkPolicies of k8s\/overlays\/kind admit exactly the callers/,
      /ok {4}consistency/,
      /all checks passed/,
    ]) {
      assert.match(r.output, step);
    }
  });

  test('an unknown key in docker-compose.yml fails docker-compose config and the compose-spec schema', () => {
    const file = composeCopy('invalid-key');
    edit(file, '  order:\n    <<: *service\n', '  order:\n    <<: *service\n    restartt: always\n');
    assertFails(
      deployCheck('--compose', file, '--only', 'compose'),
      /FAIL {2}docker-compose config -q[\s\S]*restartt/,
      /FAIL {2}check-jsonschema vendor\.compose-spec/,
    );
  });

  test('a compose secret with a default to fall back on fails: compose must refuse to start without it', () => {
    const file = composeCopy('secret-default');
    const required = /"\$\{JWT_PRIVATE_KEY:\?[^}]*\}"/;
    const text = readFileSync(file, 'utf8');
    assert.match(text, required);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: compose's own ${VAR:-default} syntax
    writeFileSync(file, text.replace(required, '"${JWT_PRIVATE_KEY:-change-me-a-private-key}"'));
    assertFails(
      deployCheck('--compose', file, '--only', 'compose'),
      /FAIL {2}compose refuses to start without[\s\S]*starts without JWT_PRIVATE_KEY: a default stands in for it/,
    );
  });

  test("Prometheus' lifecycle API and an anonymous Grafana fail the consistency check", () => {
    const file = composeCopy('operator-doors');
    edit(
      file,
      '      - --storage.tsdb.retention.time=2d\n',
      '      - --storage.tsdb.retention.time=2d\n      - --web.enable-lifecycle\n',
    );
    edit(file, 'GF_AUTH_ANONYMOUS_ENABLED: "false"', 'GF_AUTH_ANONYMOUS_ENABLED: "true"');
    assertFails(
      deployCheck('--compose', file, '--only', 'consistency'),
      /FAIL compose prometheus: --web\.enable-lifecycle/,
      /FAIL compose grafana: GF_AUTH_ANONYMOUS_ENABLED must be "false"/,
    );
  });

  test('a Secret committed in k8s/ fails, and so does a placeholder secret in a Deployment', () => {
    const dir = k8sCopy('committed-secret');
    writeFileSync(
      join(dir, 'base', 'secret.yaml'),
      'apiVersion: v1\nkind: Secret\nmetadata:\n  name: shoplab-secrets\nstringData:\n  ADMIN_TOKEN: change-me-admin-token-0123456789\n',
    );
    edit(join(dir, 'base', 'kustomization.yaml'), '  - namespace.yaml\n', '  - namespace.yaml\n  - secret.yaml\n');
    assertFails(
      deployCheck('--k8s', dir, '--only', 'k8s'),
      /FAIL {2}no Secret committed in k8s\/base[\s\S]*shoplab-secrets/,
    );
    // A placeholder written straight into a Deployment: the services would refuse it in production.
    const order = join(dir, 'base', 'services', 'order.yaml');
    edit(
      order,
      '            - name: ADMIN_TOKEN\n              valueFrom:\n                secretKeyRef:\n                  name: shoplab-secrets\n                  key: ADMIN_TOKEN\n',
      '            - name: ADMIN_TOKEN\n              value: change-me-admin-token-0123456789\n',
    );
    assertFails(
      deployCheck('--k8s', dir, '--only', 'consistency'),
      /FAIL k8s Deployment order: the environment does not parse with order's config schema: ADMIN_TOKEN: a placeholder/,
    );
  });

  const paymentPolicy =
    '  name: payment\nspec:\n  podSelector:\n    matchLabels:\n      app.kubernetes.io/name: payment\n  policyTypes: [Ingress]\n  ingress:\n';
  const cartToPayment =
    '    - ports:\n        - port: 9084\n      from:\n        - podSelector:\n            matchLabels:\n              app.kubernetes.io/name: cart\n';

  test('a NetworkPolicy that lets cart call payment, or a missing default deny, fails the policy check', () => {
    const dir = k8sCopy('cart-to-payment');
    const policies = join(dir, 'base', 'network-policies.yaml');
    edit(policies, paymentPolicy, paymentPolicy + cartToPayment);
    edit(
      policies,
      '  name: default-deny-ingress\nspec:\n  podSelector: {}\n',
      '  name: default-deny-ingress\nspec:\n  podSelector:\n    matchLabels:\n      app.kubernetes.io/name: nothing\n',
    );
    // Prometheus' own policy (the web's live charts) made to select nothing: no policy selects its pod.
    edit(
      policies,
      '  name: prometheus\nspec:\n  podSelector:\n    matchLabels:\n      app.kubernetes.io/name: prometheus\n',
      '  name: prometheus\nspec:\n  podSelector:\n    matchLabels:\n      app.kubernetes.io/name: nothing\n',
    );
    assertFails(
      deployCheck('--k8s', dir, '--only', 'policies'),
      /FAIL {2}NetworkPolicies of k8s\/base[\s\S]*FAIL NetworkPolicy: payment:grpc \(9084\) admits cart, which k8s\/allowed-callers\.yaml does not list/,
      // Without the default deny, a pod no policy selects (Prometheus) admits everything.
      /FAIL NetworkPolicy: prometheus:http \(9090\) admits card-network cart catalog gateway .* outside/,
      /FAIL {2}NetworkPolicies of k8s\/overlays\/kind[\s\S]*payment:grpc \(9084\) admits cart/,
    );
  });

  test('a table that allows a call the code does not make fails, even when the policies follow it', () => {
    const dir = k8sCopy('table-cart-to-payment');
    edit(join(dir, 'base', 'network-policies.yaml'), paymentPolicy, paymentPolicy + cartToPayment);
    edit(
      join(dir, 'allowed-callers.yaml'),
      '  payment:\n    http: [gateway, prometheus]\n    grpc: [gateway, order]\n',
      '  payment:\n    http: [gateway, prometheus]\n    grpc: [gateway, order, cart]\n',
    );
    const r = deployCheck('--k8s', dir, '--only', 'policies');
    assertFails(
      r,
      /FAIL table: payment:grpc lists cart gateway order; the services' STATIC_SERVICES says gateway order/,
      // and the services' own check of their callers (the chassis' copy of the rows) disagrees too
      /FAIL table: payment:grpc lists cart gateway order; packages\/chassis\/src\/allowed-callers\.ts says gateway order/,
    );
    assert.doesNotMatch(r.output, /FAIL NetworkPolicy:/);
  });

  test('a Deployment without its required selector fails kubernetes-validate', () => {
    const dir = k8sCopy('no-selector');
    edit(
      join(dir, 'base', 'services', 'order.yaml'),
      '  selector:\n    matchLabels:\n      app.kubernetes.io/name: order\n  template:',
      '  template:',
    );
    assertFails(
      deployCheck('--k8s', dir, '--only', 'k8s'),
      /FAIL {2}kubernetes-validate --strict k8s\/base[\s\S]*selector/,
    );
  });

  test('a third-party image without its digest fails, in the Dockerfile, compose, k8s/base and the rendered kind overlay', () => {
    const dockerfile = join(scratch, 'unpinned-dockerfile', 'Dockerfile');
    cpSync(join(root, 'Dockerfile'), dockerfile);
    unpin(dockerfile, 'node');
    const file = composeCopy('unpinned-compose');
    unpin(file, 'postgres');
    // A tag other than the one exempted (no digest verified yet) is not exempt.
    edit(file, 'image: hashicorp/consul:1.21.2\n', 'image: hashicorp/consul:1.22.0\n');
    const r = deployCheck('--dockerfile', dockerfile, '--compose', file, '--only', 'dockerfile,compose');
    assertFails(
      r,
      /FAIL {2}the Dockerfile's base image pinned by digest[\s\S]*ARG NODE_IMAGE: node:24[^@\s]*-bookworm-slim is not pinned by digest/,
      /FAIL {2}third-party images pinned by digest in docker-compose\.yml[\s\S]*service postgres: postgres:15[^@\s]* is not pinned/,
      /service consul: hashicorp\/consul:1\.22\.0 is not pinned/,
    );
    // ShopLab's own images are built here and have no digest: never reported.
    assert.doesNotMatch(r.output, /shoplab\/\S+ is not pinned/);

    const dir = k8sCopy('unpinned-k8s');
    unpin(join(dir, 'base', 'kafka', 'kafka.yaml'), 'apache/kafka');
    // An `images:` entry with newTag drops the digest in the rendering (kustomize 5): only the
    // rendered overlay shows it.
    edit(
      join(dir, 'overlays', 'kind', 'kustomization.yaml'),
      'images:\n',
      'images:\n  - name: haproxy\n    newTag: 2.6.34-alpine\n',
    );
    const k = deployCheck('--k8s', dir, '--only', 'k8s');
    assertFails(
      k,
      /FAIL {2}third-party images pinned by digest in k8s\/base[\s\S]*StatefulSet kafka, container kafka: apache\/kafka:3\.9\.1 is not pinned/,
      /FAIL {2}third-party images pinned by digest in k8s\/overlays\/kind[\s\S]*Deployment payment, container ambassador: haproxy:2\.6\.34-alpine is not pinned/,
    );
  });

  test('a port that differs from the port table fails the consistency check (compose)', () => {
    const file = composeCopy('port-compose');
    edit(file, 'HTTP_PORT: "8085"', 'HTTP_PORT: "8095"');
    assertFails(
      deployCheck('--compose', file, '--only', 'consistency'),
      /FAIL compose order: HTTP_PORT 8095, expected 8085/,
    );
  });

  test('a port that differs from the port table fails the consistency check (k8s Service)', () => {
    const dir = k8sCopy('port-k8s');
    edit(
      join(dir, 'base', 'services', 'catalog.yaml'),
      '    - name: grpc\n      port: 9082',
      '    - name: grpc\n      port: 9092',
    );
    assertFails(
      deployCheck('--k8s', dir, '--only', 'consistency'),
      /FAIL k8s Service catalog: port "grpc" must be 9082/,
    );
  });

  test("a service's admin listener missing, or a caller's address of it wrong, fails the consistency check", () => {
    // compose: order without ADMIN_PORT (its admin routes would be on its public port).
    const file = composeCopy('admin-compose');
    edit(file, '      ADMIN_PORT: "7085"\n', '');
    edit(file, 'SHOPLAB_PAYMENT_ADMIN_URL: http://payment:7084', 'SHOPLAB_PAYMENT_ADMIN_URL: http://payment:8084');
    assertFails(
      deployCheck('--compose', file, '--only', 'consistency'),
      /FAIL compose order: ADMIN_PORT=undefined, expected 7085/,
      /FAIL compose web: SHOPLAB_PAYMENT_ADMIN_URL=http:\/\/payment:8084, expected http:\/\/payment:7084/,
    );
    // k8s: history's Deployment without the admin port and its env, the Service without its port
    // `admin`, and the gateway's ADMIN_SERVICES without order.
    const dir = k8sCopy('admin-k8s');
    const history = join(dir, 'base', 'services', 'history.yaml');
    edit(history, '            - name: admin\n              containerPort: 7086\n              protocol: TCP\n', '');
    edit(history, '            - name: ADMIN_PORT\n              value: "7086"\n', '');
    edit(history, '    - name: admin\n      port: 7086\n      targetPort: admin\n      protocol: TCP\n', '');
    edit(join(dir, 'base', 'services', 'gateway.yaml'), ',order=order:7085\n', '\n');
    assertFails(
      deployCheck('--k8s', dir, '--only', 'consistency'),
      /FAIL k8s Deployment history: containerPort "admin" is , expected 7086/,
      /FAIL k8s Deployment history: ADMIN_PORT=undefined, expected 7086/,
      /FAIL k8s Service history: port "admin" must be 7086 → admin/,
      /FAIL k8s Deployment gateway: ADMIN_SERVICES lacks order/,
    );
  });

  test('the kind overlay without the catalog sidecar container fails the consistency check', () => {
    const dir = k8sCopy('no-sidecar');
    edit(join(dir, 'overlays', 'kind', 'kustomization.yaml'), '  - path: catalog-sidecar.yaml\n', '');
    assertFails(
      deployCheck('--k8s', dir, '--only', 'consistency'),
      /FAIL k8s Deployment catalog \(sidecar\): no container "sidecar"[\s\S]*FAIL k8s Service catalog: port "grpc-tls" must be 9443/,
    );
  });

  test('a generated ConfigMap renamed by its hash while a patch still mounts it by name fails the consistency check', () => {
    const dir = k8sCopy('hashed-config-map');
    edit(
      join(dir, 'overlays', 'kind', 'kustomization.yaml'),
      '      - nginx.conf=catalog-sidecar/nginx.conf\n    # Its name as the patch (catalog-sidecar.yaml) refers to it: kustomize does not rename a\n    # reference that a patch adds.\n    options:\n      disableNameSuffixHash: true\n',
      '      - nginx.conf=catalog-sidecar/nginx.conf\n',
    );
    assertFails(
      deployCheck('--k8s', dir, '--only', 'consistency'),
      /FAIL k8s Deployment\/catalog: volume sidecar-config mounts the ConfigMap catalog-sidecar-nginx, which is not rendered/,
    );
  });

  test('an environment variable that is not in the service’s config schema fails the consistency check', () => {
    const file = composeCopy('unknown-env');
    edit(file, '      DB_NAME: shoplab_order\n', '      DB_NAME: shoplab_order\n      ORDER_TIMEOUT_MS: "5000"\n');
    assertFails(
      deployCheck('--compose', file, '--only', 'consistency'),
      /FAIL compose order: ORDER_TIMEOUT_MS is not a setting of order/,
    );
  });

  test('a required secret that is not provided fails the consistency check', () => {
    const dir = k8sCopy('missing-secret');
    edit(
      join(dir, 'base', 'services', 'order.yaml'),
      '            - name: CARD_ENCRYPTION_KEY\n              valueFrom:\n                secretKeyRef:\n                  name: shoplab-secrets\n                  key: CARD_ENCRYPTION_KEY\n',
      '',
    );
    assertFails(
      deployCheck('--k8s', dir, '--only', 'consistency'),
      /FAIL k8s Deployment order: required CARD_ENCRYPTION_KEY is not provided/,
    );
  });

  test('a stateless service on one replica, without its PDB, HPA or CPU request, or a single-replica one scaled, fails the consistency check', () => {
    const dir = k8sCopy('scale-out');
    const scaling = join(dir, 'base', 'scaling.yaml');
    edit(join(dir, 'base', 'services', 'order.yaml'), '  replicas: 2\n', '  replicas: 1\n');
    edit(
      scaling,
      '  minAvailable: 1\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: cart\n',
      '  minAvailable: 1\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: carts\n',
    );
    edit(scaling, '    kind: Deployment\n    name: web\n', '    kind: Deployment\n    name: card-network\n');
    edit(
      join(dir, 'overlays', 'kind', 'catalog-sidecar.yaml'),
      '            requests:\n              cpu: 10m\n              memory: 16Mi\n',
      '            requests:\n              memory: 16Mi\n',
    );
    assertFails(
      deployCheck('--k8s', dir, '--only', 'consistency'),
      /FAIL k8s Deployment card-network \(scale-out\): an HPA would scale it, but it must run once/,
      /FAIL k8s Deployment cart \(scale-out\): no PodDisruptionBudget selects its pods/,
      /FAIL k8s Deployment catalog \(scale-out\): container sidecar has no CPU request/,
      /FAIL k8s Deployment order \(scale-out\): replicas 1: a stateless service runs at least 2/,
      /FAIL k8s Deployment web \(scale-out\): no HorizontalPodAutoscaler targets it/,
    );
  });

  test('a topic that is not <service>.events of a publishing service fails the consistency check', () => {
    const file = composeCopy('topic');
    edit(file, 'SHOPLAB_TOPICS: user.events', 'SHOPLAB_TOPICS: users.events');
    edit(
      file,
      '      DB_NAME: shoplab_cart\n',
      '      DB_NAME: shoplab_cart\n      ORDER_EVENTS_TOPIC: orders.events\n',
    );
    assertFails(
      deployCheck('--compose', file, '--only', 'consistency'),
      /FAIL compose kafka-init: topic users\.events is not <service>\.events of a service/,
      /FAIL compose cart: ORDER_EVENTS_TOPIC=orders\.events is not <service>\.events of a service that publishes events/,
    );
  });
});
