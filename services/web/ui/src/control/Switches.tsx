import { useCallback, useEffect, useState } from 'react';
import { ErrorBanner } from '../components/Notices';
import { type AdminHeaders, control, type SwitchState } from './api';

/**
 * The before/after switches (the design, and the naive version it replaces) as buttons, each
 * showing its state: the gateway's breakers, bulkheads, product-cache fallback and order-events
 * mode, and each service's outbox vs direct publish. Not persisted: a restart returns to the design.
 */
export function Switches({ headers }: { headers: AdminHeaders }) {
  const [items, setItems] = useState<SwitchState[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const auth = headers.authorization;
  const load = useCallback(async () => {
    const { data, error: e } = await control<{ items: SwitchState[] }>('switches', { authorization: auth });
    if (data) setItems(data.items);
    setError(e ?? null);
  }, [auth]);
  useEffect(() => {
    void load();
  }, [load]);

  const set = async (s: SwitchState, value: string) => {
    const { error: e } = await control(`switches/${encodeURIComponent(s.name)}`, headers, {
      method: 'PUT',
      body: { value },
    });
    setError(e ?? null);
    await load();
  };

  return (
    <section aria-labelledby="switches-title">
      <h2 id="switches-title">Before/after switches</h2>
      <p className="muted">The first value of each is the design; the other is the naive version it replaces.</p>
      <ErrorBanner message={error} />
      <ul className="switches" aria-label="Switches">
        {(items ?? []).map((s) => (
          <li key={s.name} data-switch={s.name} data-value={s.value ?? 'unknown'}>
            <fieldset className="row plain">
              <legend>{s.label}</legend>
              {s.values.map((v) => (
                <button
                  key={v}
                  type="button"
                  aria-pressed={s.value === v}
                  className={s.value === v ? 'primary' : ''}
                  onClick={() => void set(s, v)}
                >
                  {v}
                </button>
              ))}
            </fieldset>
            {s.error ? <p className="error-text">unknown: {s.error}</p> : null}
          </li>
        ))}
      </ul>
    </section>
  );
}
