// The two-phase checkout's decision log (two_phase_transactions, migration
// 20261206010000_two_phase_log) in plain SQL on the order service's pool. Every write is one
// autocommitted statement: durable before the coordinator acts on it.
import type pg from 'pg';
import type { TwoPhaseLog } from '../application/two-phase-coordinator';
import type { TwoPhaseDecision, TwoPhaseRecord } from '../domain/two-phase';

interface Row {
  order_id: string;
  participants: string[];
  decision: TwoPhaseDecision | null;
  reason: string | null;
  payment_id: string | null;
  started_at: Date;
  decided_at: Date | null;
  finished_at: Date | null;
}

const COLUMNS = 'order_id, participants, decision, reason, payment_id, started_at, decided_at, finished_at';

function recordOf(row: Row): TwoPhaseRecord {
  return {
    orderId: row.order_id,
    participants: row.participants,
    ...(row.decision ? { decision: row.decision } : {}),
    ...(row.reason ? { reason: row.reason } : {}),
    ...(row.payment_id ? { paymentId: row.payment_id } : {}),
    startedAt: row.started_at,
    ...(row.decided_at ? { decidedAt: row.decided_at } : {}),
    ...(row.finished_at ? { finishedAt: row.finished_at } : {}),
  };
}

export class PgTwoPhaseLog implements TwoPhaseLog {
  constructor(private readonly pool: pg.Pool) {}

  async begin(orderId: string, participants: readonly string[]) {
    const inserted = await this.pool.query<Row>(
      `INSERT INTO two_phase_transactions (order_id, participants) VALUES ($1, $2)
       ON CONFLICT (order_id) DO NOTHING RETURNING ${COLUMNS}`,
      [orderId, [...participants]],
    );
    const row = inserted.rows[0];
    if (row) return { record: recordOf(row), created: true };
    const found = await this.find(orderId);
    if (!found) throw new Error(`two-phase log: order ${orderId} neither inserted nor found`);
    return { record: found, created: false };
  }

  async find(orderId: string): Promise<TwoPhaseRecord | undefined> {
    const { rows } = await this.pool.query<Row>(`SELECT ${COLUMNS} FROM two_phase_transactions WHERE order_id = $1`, [
      orderId,
    ]);
    return rows[0] ? recordOf(rows[0]) : undefined;
  }

  async decide(orderId: string, decision: TwoPhaseDecision, fields: { reason?: string; paymentId?: string }) {
    // The first decision wins: a second one (a participant's inquiry racing the coordinator) changes nothing.
    await this.pool.query(
      `UPDATE two_phase_transactions SET decision = $2, reason = $3, payment_id = $4, decided_at = now()
        WHERE order_id = $1 AND decision IS NULL`,
      [orderId, decision, fields.reason ?? null, fields.paymentId ?? null],
    );
    const record = await this.find(orderId);
    if (!record) throw new Error(`two-phase log: no transaction for order ${orderId}`);
    return record;
  }

  async finish(orderId: string): Promise<void> {
    await this.pool.query(
      'UPDATE two_phase_transactions SET finished_at = now() WHERE order_id = $1 AND finished_at IS NULL',
      [orderId],
    );
  }

  async wakeSagas(orderIds: readonly string[]): Promise<void> {
    await this.pool.query(
      `UPDATE saga_instances SET next_attempt_at = now()
        WHERE order_id = ANY($1::uuid[]) AND state IN ('STARTED', 'RUNNING', 'COMPENSATING')`,
      [[...orderIds]],
    );
  }

  async unfinished(): Promise<TwoPhaseRecord[]> {
    const { rows } = await this.pool.query<Row>(
      `SELECT ${COLUMNS} FROM two_phase_transactions WHERE finished_at IS NULL ORDER BY started_at`,
    );
    return rows.map(recordOf);
  }
}
