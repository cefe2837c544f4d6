// The KRaft cluster id that infra/local/kafka.sh generates on a fresh state directory. One
// random id in 64 used to begin with "-", which the storage tool read as an option, so `make up`
// failed at "formatting KRaft storage" on that machine.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const INFRA = resolve(__dirname, '../../../infra/local');
/** Kafka's Uuid as text: 22 characters of URL-safe base64, never starting with "-". */
const CLUSTER_ID = /^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/;

/** Runs `script` in bash with infra/local's lib.sh and kafka.sh sourced, state in `state`. */
async function inKafkaScript(state: string, script: string): Promise<string> {
  const { stdout } = await run(
    'bash',
    ['-c', `set -euo pipefail; source "${INFRA}/lib.sh"; source "${INFRA}/kafka.sh"; ${script}`],
    { env: { ...process.env, SHOPLAB_STATE: state }, maxBuffer: 16 * 1024 * 1024 },
  );
  return stdout;
}

test('500 new cluster ids are all valid Kafka ids, none starting with "-", and all distinct', async () => {
  const state = await mkdtemp(join(tmpdir(), 'shoplab-kafka-id-'));
  try {
    const ids = (await inKafkaScript(state, 'for i in $(seq 500); do kafka_new_cluster_id; done')).trim().split('\n');
    assert.equal(ids.length, 500);
    for (const id of ids) assert.match(id, CLUSTER_ID);
    assert.equal(new Set(ids).size, ids.length);
    // Base64 of random bytes begins with "-" one time in 64: the draws above met the case the
    // generator must refuse many times over, so the loop that draws again was taken.
  } finally {
    await rm(state, { recursive: true, force: true });
  }
});

test('100 fresh state directories each get a valid id, kept on the next call', async () => {
  const root = await mkdtemp(join(tmpdir(), 'shoplab-kafka-state-'));
  try {
    const out = await inKafkaScript(
      root,
      `for i in $(seq 100); do KAFKA_STATE="${root}/$i"; a=$(_kafka_cluster_id); b=$(_kafka_cluster_id); echo "$a $b"; done`,
    );
    const pairs = out.trim().split('\n');
    assert.equal(pairs.length, 100);
    for (const pair of pairs) {
      const [first, again] = pair.split(' ');
      assert.match(first ?? '', CLUSTER_ID);
      assert.equal(again, first, 'the id of a state directory is generated once');
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('a state directory left with an id starting with "-" (by an older version) gets a new one', async () => {
  const root = await mkdtemp(join(tmpdir(), 'shoplab-kafka-old-'));
  try {
    await writeFile(join(root, 'cluster.id'), '-AbCdEfGhIjKlMnOpQrStU\n');
    const id = (await inKafkaScript(root, `KAFKA_STATE="${root}"; _kafka_cluster_id`)).trim();
    assert.match(id, CLUSTER_ID);
    assert.equal((await readFile(join(root, 'cluster.id'), 'utf8')).trim(), id);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
