// Exercise 11's readers of PostgreSQL's own output: pg_controldata, pg_waldump --stats and the
// server log's recovery lines (the texts are as PostgreSQL 15 prints them).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  lsnBytes,
  parseControlData,
  parseRecoveryLog,
  parseWaldumpStats,
  sameLsn,
} from '../../src/exercises/11-postgres-crash-wal';

const WALDUMP_STATS = `WAL statistics between 0/FE665C70 and 0/FE754790:
Type                                           N      (%)          Record size      (%)             FPI size      (%)        Combined size      (%)
----                                           -      ---          -----------      ---             --------      ---        -------------      ---
XLOG/FPI_FOR_HINT                              3 (  0.54)                  153 (  0.30)                22140 (  2.39)                22293 (  2.28)
Transaction/COMMIT                            59 ( 10.69)                 2124 (  4.20)                    0 (  0.00)                 2124 (  0.22)
Heap/INSERT                                   73 ( 13.22)                 5840 ( 11.54)               304224 ( 32.84)               310064 ( 31.72)
Heap/HOT_UPDATE                               41 (  7.43)                 3116 (  6.16)                    0 (  0.00)                 3116 (  0.32)
                                        --------                      --------                      --------                      --------
Total                                        552                         50612 [5.18%]                926364 [94.76%]               977640 [100%]
pg_waldump: error: error in WAL record at 0/FE754758: invalid record length at 0/FE754790: wanted 24, got 0`;

describe("exercise 11's readers", () => {
  test('an LSN is a byte position: the high word shifted by 32 bits plus the low word', () => {
    assert.equal(lsnBytes('0/FE754758') - lsnBytes('0/FE665C70'), 0xeeae8n);
    assert.equal(lsnBytes('1/0'), 1n << 32n);
    assert.throws(() => lsnBytes('FE754758'), /not an LSN/);
    assert.ok(sameLsn('1/023CFAD8', '1/23CFAD8'), 'padded or not, one position');
    assert.ok(!sameLsn('1/23CFAD8', null));
  });

  test("pg_controldata's fields are read by name", () => {
    const fields = parseControlData(
      "Database cluster state:               in production\nLatest checkpoint's REDO location:    0/FE665C70\n",
    );
    assert.equal(fields['Database cluster state'], 'in production');
    assert.equal(fields["Latest checkpoint's REDO location"], '0/FE665C70');
  });

  test('pg_waldump --stats: counts per record type, the total, full-page bytes, and the last record before the end of the log', () => {
    const stats = parseWaldumpStats(WALDUMP_STATS);
    assert.equal(stats.records['Transaction/COMMIT'], 59);
    assert.equal(stats.records['Heap/INSERT'], 73);
    assert.equal(stats.records.Total, 552);
    assert.equal(stats.fullPageBytes, 926364);
    assert.equal(stats.lastRecord, '0/FE754758');
    assert.equal(parseWaldumpStats('Total  0  0 [0%]  0 [0%]  0 [100%]').lastRecord, null, 'no end seen: null');
  });

  test('the server log: a crash recovery and its redo range; a clean start has neither', () => {
    const log = [
      '2026-12-05 14:22:56.101 UTC [4242] LOG:  database system was interrupted; last known up at 2026-12-05 14:22:40 UTC',
      '2026-12-05 14:22:56.150 UTC [4242] LOG:  database system was not properly shut down; automatic recovery in progress',
      '2026-12-05 14:22:56.152 UTC [4242] LOG:  redo starts at 0/FE665C70',
      '2026-12-05 14:22:56.160 UTC [4242] LOG:  redo done at 0/FE754758 system usage: CPU: user: 0.00 s, system: 0.00 s, elapsed: 0.00 s',
      '2026-12-05 14:22:56.300 UTC [4240] LOG:  database system is ready to accept connections',
    ].join('\n');
    const recovery = parseRecoveryLog(log);
    assert.equal(recovery.crashed, true);
    assert.equal(recovery.redoStarts, '0/FE665C70');
    assert.equal(recovery.redoDone, '0/FE754758');
    assert.equal(recovery.lines.length, 4);
    assert.match(recovery.lines[1] ?? '', /^LOG: {2}redo starts at/);
    const clean = parseRecoveryLog(
      '2026-12-05 14:00:00.000 UTC [1] LOG:  database system is ready to accept connections',
    );
    assert.deepEqual([clean.crashed, clean.redoStarts, clean.redoDone], [false, null, null]);
  });
});
