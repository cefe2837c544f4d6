import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { type GroupReader, type GroupState, groupsCommand, notRejoined } from '../../src/consumer-groups';

/** A reader whose answers come from `describe`; counts its closes. */
function reader(describe: GroupReader['describe']): GroupReader & { closed: number } {
  const r = {
    closed: 0,
    describe,
    close: async () => {
      r.closed++;
    },
  };
  return r;
}

const member = (memberId: string) => ({ memberId, clientId: memberId.split('-').slice(0, 2).join('-') });

function io() {
  const io = {
    out: '',
    err: '',
    env: {},
  };
  return {
    io,
    cli: {
      env: io.env,
      out: (t: string) => {
        io.out += t;
      },
      err: (t: string) => {
        io.err += t;
      },
    },
  };
}

test('notRejoined: a group is held anew when Stable, with members, none of them from before', () => {
  const before = new Set(['order-old-1']);
  const groups: GroupState[] = [
    { groupId: 'a', state: 'Stable', members: [member('order-new-1')] },
    { groupId: 'b', state: 'Stable', members: [member('order-old-1')] },
    { groupId: 'c', state: 'PreparingRebalance', members: [member('order-new-2')] },
    { groupId: 'd', state: 'Empty', members: [] },
    { groupId: 'e', state: 'Stable', members: [member('order-new-3'), member('order-old-1')] },
  ];
  assert.deepEqual(
    notRejoined(groups, before).map((g) => g.groupId),
    ['b', 'c', 'd', 'e'],
  );
});

test('shopctl groups: --members-out writes the members; --wait-without waits until new members hold every group', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'groups-'));
  const file = join(dir, 'before');
  // Before the restart: the live member and one of a killed process, still in its session.
  const before: GroupState[] = [
    { groupId: 'g1', state: 'Stable', members: [member('order-a-1'), member('order-dead-1')] },
    { groupId: 'g2', state: 'Stable', members: [member('order-a-2')] },
  ];
  const first = io();
  assert.equal(
    await groupsCommand(
      ['g1', 'g2', '--members-out', file],
      first.cli,
      reader(async () => before),
    ),
    0,
  );
  assert.deepEqual(readFileSync(file, 'utf8').trim().split('\n'), ['order-a-1', 'order-dead-1', 'order-a-2']);
  assert.match(first.io.out, /g1\s+Stable\s+order-a: order-a-1, order-dead: order-dead-1/);

  // After: g1 rebalances until the dead member's session ends; g2 is held anew at once.
  const answers: GroupState[][] = [
    [
      { groupId: 'g1', state: 'PreparingRebalance', members: [member('order-dead-1')] },
      { groupId: 'g2', state: 'Stable', members: [member('order-b-2')] },
    ],
    [
      { groupId: 'g1', state: 'Stable', members: [member('order-b-1')] },
      { groupId: 'g2', state: 'Stable', members: [member('order-b-2')] },
    ],
  ];
  let calls = 0;
  const waited = io();
  const polled = reader(async () => answers[Math.min(calls++, answers.length - 1)] as GroupState[]);
  const code = await groupsCommand(['g1', 'g2', '--wait-without', file], waited.cli, polled, async () => undefined);
  assert.equal(code, 0, waited.io.err);
  assert.equal(calls, 2);
  assert.equal(polled.closed, 1, 'the reader is closed once, after the wait');
  assert.match(waited.io.out, /held by new members after/);

  // A group that stays in the old member's hands: exit 1 at the timeout, naming it.
  const stuck = io();
  writeFileSync(file, 'order-dead-1\n');
  const stuckCode = await groupsCommand(
    ['g1', '--wait-without', file, '--timeout', '1ms'],
    stuck.cli,
    reader(async () => [{ groupId: 'g1', state: 'PreparingRebalance', members: [member('order-dead-1')] }]),
    async () => new Promise((r) => setTimeout(r, 5)),
  );
  assert.equal(stuckCode, 1);
  assert.match(stuck.io.err, /not held by new members after 0\.001 s:[\s\S]*g1\s+PreparingRebalance/);
});

test('shopctl groups: bad input is exit 2 before any call', async () => {
  const describe = reader(async () => assert.fail('no call expected'));
  for (const argv of [
    [],
    ['g', '--members-out', 'a', '--wait-without', 'b'],
    ['g', '--timeout', 'soon'],
    ['g', '--x'],
  ]) {
    const run = io();
    assert.equal(await groupsCommand(argv, run.cli, describe), 2, argv.join(' '));
    assert.match(run.io.err, /usage: shopctl groups/);
  }
});
