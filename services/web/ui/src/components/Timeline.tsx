import type { SagaStep } from '../api/client';
import { when } from '../format';

/** One row per attempt: a step's STARTED entry is replaced by its outcome when that arrives. */
export function mergeTimeline(entries: readonly SagaStep[]): SagaStep[] {
  const rows = new Map<string, SagaStep>();
  for (const e of entries) {
    const key = `${e.kind}|${e.step}|${e.attempt}|${e.startedAt ?? ''}`;
    const before = rows.get(key);
    if (!before || before.outcome === 'STARTED' || e.outcome !== 'STARTED') rows.set(key, e);
  }
  return [...rows.values()];
}

function label(step: SagaStep): string {
  if (step.kind === 'event') return `event ${step.step}`;
  return step.step.replaceAll('_', ' ');
}

/** The checkout saga as the order service recorded it: steps, attempts, compensations, payment events. */
export function Timeline({ steps }: { steps: readonly SagaStep[] }) {
  if (steps.length === 0) return <p className="muted">No saga step yet.</p>;
  return (
    <ol className="timeline" aria-label="Saga timeline">
      {mergeTimeline(steps).map((s) => {
        const compensation = s.step.startsWith('compensate:');
        return (
          <li
            key={`${s.kind}|${s.step}|${s.attempt}|${s.startedAt ?? ''}`}
            className={`step outcome-${s.outcome.toLowerCase()}${compensation ? ' compensation' : ''}${s.kind === 'event' ? ' event' : ''}`}
            data-step={s.step}
            data-outcome={s.outcome}
          >
            <span className="step-name">{label(s)}</span>
            {s.kind === 'step' && s.attempt > 1 ? <span className="attempt"> attempt {s.attempt}</span> : null}
            <span className="outcome"> {s.outcome}</span>
            {compensation ? <span className="tag"> compensation</span> : null}
            {s.error ? <span className="step-error"> — {s.error}</span> : null}
            <time className="muted" dateTime={s.finishedAt ?? s.startedAt ?? undefined}>
              {' '}
              {when(s.finishedAt ?? s.startedAt)}
            </time>
          </li>
        );
      })}
    </ol>
  );
}
