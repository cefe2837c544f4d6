import { useCallback, useEffect, useState } from 'react';
import { ErrorBanner } from '../components/Notices';
import { type AdminHeaders, control, type DlqTopic } from './api';

/**
 * The dead-letter topics (`<topic>.dlq`): per topic how many messages wait, poison (could never
 * be handled) or failed (gave up after retries), each with its reason; redrive copies the
 * failed ones back to their topic, discard marks them handled. Both ask first.
 */
export function DeadLetters({ headers }: { headers: AdminHeaders }) {
  const [topics, setTopics] = useState<DlqTopic[] | null>(null);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const auth = headers.authorization;

  const load = useCallback(async () => {
    setBusy(true);
    const { data, error: e } = await control<{ items: DlqTopic[] }>('dead-letters', { authorization: auth });
    setBusy(false);
    if (data) setTopics(data.items);
    setError(e ?? null);
  }, [auth]);
  useEffect(() => {
    void load();
  }, [load]);

  const act = async (topic: DlqTopic, action: 'redrive' | 'discard') => {
    const question =
      action === 'redrive'
        ? `Copy the ${topic.failed} failed message(s) of ${topic.dlqTopic} back to their topic? (${topic.poison} poison message(s) are passed over and marked handled.)`
        : `Discard the ${topic.pending} message(s) of ${topic.dlqTopic}? They stay in the topic, marked handled, and are never delivered again.`;
    if (!window.confirm(question)) return;
    setBusy(true);
    const { data, error: e } = await control<{
      redriven?: unknown[];
      discarded?: number;
      skipped?: { poison: number };
    }>(`dead-letters/${encodeURIComponent(topic.dlqTopic)}/${action}`, headers, {
      method: 'POST',
      ...(action === 'redrive' ? { body: {} } : {}),
    });
    setBusy(false);
    if (data) {
      setResult(
        action === 'redrive'
          ? `${topic.dlqTopic}: redrove ${data.redriven?.length ?? 0}, passed over ${data.skipped?.poison ?? 0} poison`
          : `${topic.dlqTopic}: discarded ${data.discarded ?? 0}`,
      );
      await load();
    } else setError(e ?? null);
  };

  const shown = (topics ?? []).filter((t) => t.pending > 0);
  return (
    <section aria-labelledby="dlq-title">
      <h2 id="dlq-title">Dead-letter queues</h2>
      <p className="muted">
        Messages a consumer parked: <em>poison</em> (could never be handled, parked at once) or <em>failed</em> (gave up
        after its retries). Only the messages not yet redriven or discarded are counted.
      </p>
      <button type="button" onClick={() => void load()} disabled={busy}>
        {busy ? 'Reading the dead-letter topics…' : 'Refresh the dead-letter queues'}
      </button>
      <p role="status" className="muted">
        {result ?? ''}
      </p>
      <ErrorBanner message={error} />
      {topics && shown.length === 0 ? <p>No dead-letter topic holds a message waiting.</p> : null}
      {shown.length > 0 ? (
        <table className="lines" aria-label="Dead-letter queues">
          <thead>
            <tr>
              <th scope="col">Topic</th>
              <th scope="col">Waiting</th>
              <th scope="col">Poison</th>
              <th scope="col">Failed</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((t) => (
              <tr key={t.dlqTopic} data-dlq={t.dlqTopic}>
                <td>
                  {t.dlqTopic}
                  <ul className="muted">
                    {t.messages.slice(0, 5).map((m) => (
                      <li key={`${m.partition}:${m.offset}`}>
                        {m.partition}:{m.offset} {m.poison ? 'poison' : 'failed'} ({m.consumerGroup ?? 'no group'},{' '}
                        {m.attempts ?? '?'} attempts): {m.reason ?? 'no reason recorded'}
                      </li>
                    ))}
                  </ul>
                </td>
                <td data-testid="dlq-pending">{t.pending}</td>
                <td data-testid="dlq-poison">{t.poison}</td>
                <td data-testid="dlq-failed">{t.failed}</td>
                <td>
                  <div className="row">
                    <button type="button" disabled={busy || t.pending === 0} onClick={() => void act(t, 'redrive')}>
                      Redrive<span className="visually-hidden"> {t.dlqTopic}</span>
                    </button>
                    <button type="button" disabled={busy || t.pending === 0} onClick={() => void act(t, 'discard')}>
                      Discard<span className="visually-hidden"> {t.dlqTopic}</span>
                    </button>
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}
