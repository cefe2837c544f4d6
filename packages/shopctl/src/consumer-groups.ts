// `shopctl groups <group>…`: which members hold a service's Kafka consumer groups, and a wait
// until a restarted service holds them again. A consumer group rebalances only once every member
// it knows has rejoined or let its session run out: a member of a process that was killed (no
// LeaveGroup) keeps a restarted service's consumers out of the group for up to the session
// timeout (30 s, kafkajs' default), and events meanwhile wait in Kafka. `--members-out FILE`
// before a restart and `--wait-without FILE` after it wait until every group is Stable with
// members none of which were there before (scripts/check.sh, before the choreographed exercises).
import { readFileSync, writeFileSync } from 'node:fs';
import { type CliIo, formatTable, parseDuration, parseOptions, UsageError } from './command';
import { kafkaOf } from './dlq';
import { messageOf } from './error-text';

export const GROUPS_USAGE = `usage: shopctl groups <group>… [--members-out FILE | --wait-without FILE [--timeout 90s]]
  each consumer group's state and its members (member id, client id: the service instance)
  --members-out FILE    also write the member ids to FILE, one per line
  --wait-without FILE   wait until every group is Stable with at least one member, none of them
                        listed in FILE (the members before a restart); exit 1 at the timeout
  Kafka: $KAFKA_BROKERS, else 127.0.0.1:9092.`;

export interface GroupMember {
  memberId: string;
  clientId: string;
}

export interface GroupState {
  groupId: string;
  state: string;
  members: GroupMember[];
}

/** The groups not yet held by new members: not Stable, empty, or with a member of `before`. */
export function notRejoined(groups: readonly GroupState[], before: ReadonlySet<string>): GroupState[] {
  return groups.filter(
    (g) => g.state !== 'Stable' || g.members.length === 0 || g.members.some((m) => before.has(m.memberId)),
  );
}

export function formatGroups(groups: readonly GroupState[]): string {
  const rows = [['group', 'state', 'members (client id: member id)']];
  for (const g of groups) {
    rows.push([g.groupId, g.state, g.members.map((m) => `${m.clientId}: ${m.memberId}`).join(', ') || '-']);
  }
  return formatTable(rows);
}

export async function groupsCommand(
  argv: string[],
  io: CliIo,
  reader: GroupReader = kafkaGroupReader(io.env),
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
): Promise<number> {
  const describe = (ids: string[]) => reader.describe(ids);
  let groupIds: string[];
  let membersOut: string | undefined;
  let waitWithout: string | undefined;
  let timeoutMs: number;
  try {
    const parsed = parseOptions(argv, { valued: ['members-out', 'wait-without', 'timeout'], flags: ['help'] });
    if (parsed.flags.has('help')) {
      io.out(`${GROUPS_USAGE}\n`);
      return 0;
    }
    groupIds = parsed.positional;
    membersOut = parsed.values['members-out'];
    waitWithout = parsed.values['wait-without'];
    timeoutMs = parseDuration(parsed.values.timeout ?? '90s', '--timeout');
    if (groupIds.length === 0) throw new UsageError('name at least one consumer group');
    if (membersOut && waitWithout) throw new UsageError('--members-out and --wait-without do not go together');
  } catch (err) {
    io.err(`shopctl groups: ${messageOf(err, { cause: false })}\n${GROUPS_USAGE}\n`);
    return 2;
  }
  try {
    if (!waitWithout) {
      const groups = await describe(groupIds);
      io.out(`${formatGroups(groups)}\n`);
      if (membersOut) {
        const ids = groups.flatMap((g) => g.members.map((m) => m.memberId));
        writeFileSync(membersOut, ids.map((id) => `${id}\n`).join(''));
      }
      return 0;
    }
    const before = new Set(
      readFileSync(waitWithout, 'utf8')
        .split('\n')
        .map((line) => line.trim())
        .filter(Boolean),
    );
    const started = Date.now();
    for (;;) {
      const groups = await describe(groupIds);
      const waiting = notRejoined(groups, before);
      if (waiting.length === 0) {
        io.out(`${formatGroups(groups)}\nheld by new members after ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
        return 0;
      }
      if (Date.now() - started >= timeoutMs) {
        io.err(`shopctl groups: not held by new members after ${timeoutMs / 1000} s:\n${formatGroups(waiting)}\n`);
        return 1;
      }
      await sleep(500);
    }
  } catch (err) {
    io.err(`shopctl groups: ${messageOf(err, { cause: false })}\n`);
    return 1;
  } finally {
    await reader.close().catch(() => undefined);
  }
}

/** Reads consumer groups; a wait polls on one connection. */
export interface GroupReader {
  describe(groupIds: string[]): Promise<GroupState[]>;
  close(): Promise<void>;
}

/** A GroupReader on the Kafka admin API, connected on first use and kept until close(). */
function kafkaGroupReader(env: NodeJS.ProcessEnv): GroupReader {
  const admin = kafkaOf({ env }).admin();
  let connected: Promise<void> | undefined;
  return {
    async describe(groupIds) {
      connected ??= admin.connect();
      await connected;
      const { groups } = await admin.describeGroups(groupIds);
      return groups.map((g) => ({
        groupId: g.groupId,
        state: g.state,
        members: g.members.map((m) => ({ memberId: m.memberId, clientId: m.clientId })),
      }));
    },
    close: () => (connected ? admin.disconnect() : Promise.resolve()),
  };
}
