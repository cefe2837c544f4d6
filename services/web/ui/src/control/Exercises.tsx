import { marked } from 'marked';
import { useEffect, useMemo, useState } from 'react';
import { ErrorBanner } from '../components/Notices';
import { type AdminHeaders, type Check, control, type ExerciseInfo, type ExerciseOutcome, runExercise } from './api';

/**
 * The exercises: pick one, run it on the shop, and watch its progress, then its checks (PASS or
 * FAIL with their evidence) and the audit arrive as they happen; its page beside it. One runs
 * at a time across every open control room (the server answers 409 otherwise).
 */
export function Exercises({ headers }: { headers: AdminHeaders }) {
  const [items, setItems] = useState<ExerciseInfo[]>([]);
  const [chosen, setChosen] = useState<number | null>(null);
  const [markdown, setMarkdown] = useState('');
  const [output, setOutput] = useState('');
  const [checks, setChecks] = useState<Check[]>([]);
  const [outcome, setOutcome] = useState<ExerciseOutcome | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const auth = headers.authorization;

  useEffect(() => {
    void control<{ items: ExerciseInfo[] }>('exercises', { authorization: auth }).then(({ data, error: e }) => {
      if (data) {
        setItems(data.items);
        setChosen((c) => c ?? data.items[0]?.number ?? null);
      }
      setError(e ?? null);
    });
  }, [auth]);
  useEffect(() => {
    if (chosen === null) return;
    void control<{ markdown: string }>(`exercises/${chosen}/page`, { authorization: auth }).then(({ data }) =>
      setMarkdown(data?.markdown ?? ''),
    );
  }, [chosen, auth]);
  // The exercise's own page from the repository (docs/exercises/), not user input.
  const page = useMemo(() => ({ __html: marked.parse(markdown, { async: false }) }), [markdown]);

  const run = async () => {
    if (chosen === null) return;
    setBusy(true);
    setOutput('');
    setChecks([]);
    setOutcome(null);
    setError(null);
    const failed = await runExercise(chosen, headers, (e) => {
      if (e.event === 'output') setOutput((o) => o + e.data.text);
      else if (e.event === 'checks') setChecks(e.data.checks);
      else {
        setChecks(e.data.checks);
        setOutcome(e.data);
      }
    }).catch((err: unknown) => (err instanceof Error ? err.message : String(err)));
    setBusy(false);
    if (failed) setError(failed);
  };

  return (
    <section aria-labelledby="exercises-title">
      <h2 id="exercises-title">Exercises</h2>
      <div className="exercise-grid">
        <div>
          <label htmlFor="exercise">Exercise</label>
          <div className="row">
            <select id="exercise" value={chosen ?? ''} onChange={(e) => setChosen(Number(e.target.value))}>
              {items.map((x) => (
                <option key={x.number} value={x.number}>
                  {x.number}. {x.title}
                </option>
              ))}
            </select>
            <button type="button" className="primary" disabled={busy || chosen === null} onClick={() => void run()}>
              {busy ? 'Running…' : 'Run the exercise'}
            </button>
            {busy ? (
              <button
                type="button"
                onClick={() => {
                  if (window.confirm('Interrupt the exercise? Its faults are cleared and what it stopped is started.'))
                    void control('exercises/running/stop', headers, { method: 'POST' });
                }}
              >
                Interrupt it
              </button>
            ) : null}
          </div>
          <ErrorBanner message={error} />
          {outcome ? (
            <p role="status" data-testid="exercise-verdict" className={outcome.ok ? '' : 'error-text'}>
              {outcome.interrupted ? 'INTERRUPTED' : outcome.ok ? 'PASS' : 'FAIL'} ({outcome.checks.length} checks,{' '}
              {(outcome.durationMs / 1000).toFixed(1)} s)
            </p>
          ) : null}
          {checks.length > 0 ? (
            <ul aria-label="Checks" className="checks">
              {checks.map((c) => (
                <li key={c.name} data-verdict={c.verdict}>
                  <strong className={c.verdict === 'FAIL' ? 'error-text' : ''}>{c.verdict}</strong>{' '}
                  <span className="check-name">{c.name}</span>
                  <ul className="muted">
                    {c.evidence.map((line) => (
                      <li key={line}>{line}</li>
                    ))}
                  </ul>
                </li>
              ))}
            </ul>
          ) : null}
          <h3>Output</h3>
          <pre className="exercise-output" data-testid="exercise-output">
            {output}
          </pre>
        </div>
        {/* biome-ignore lint/security/noDangerouslySetInnerHtml: the repository's own exercise page. */}
        <article className="exercise-page" aria-label="The exercise's page" dangerouslySetInnerHTML={page} />
      </div>
    </section>
  );
}
