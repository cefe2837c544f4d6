// The web service's own control routes (services/web/src/control.ts): not the gateway's API,
// so not in its OpenAPI types; their shapes are written down here. The admin token goes on
// every call; an exercise's run is read as server-sent events (fetch + eventsource-parser,
// since EventSource cannot send the Authorization header).
import { createParser } from 'eventsource-parser';
import { problemText } from '../api/client';

export type AdminHeaders = { authorization: string };

export interface DlqMessage {
  partition: number;
  offset: string;
  timestamp: string;
  eventId: string | null;
  type: string | null;
  reason: string | null;
  attempts: number | null;
  consumerGroup: string | null;
  sourceTopic: string;
  poison: boolean;
}
export interface DlqTopic {
  dlqTopic: string;
  count: number;
  pending: number;
  poison: number;
  failed: number;
  messages: DlqMessage[];
}
export interface SwitchState {
  name: string;
  label: string;
  values: string[];
  value: string | null;
  error?: string;
}
export interface ExerciseInfo {
  number: number;
  slug: string;
  title: string;
  pattern: string;
  doc: string;
}
export interface Check {
  name: string;
  verdict: 'PASS' | 'FAIL';
  evidence: string[];
}
export interface ExerciseOutcome {
  ok: boolean;
  interrupted: boolean;
  checks: Check[];
  durationMs: number;
  auditOk: boolean | null;
}
export type RunEvent =
  | { event: 'output'; data: { text: string } }
  | { event: 'checks'; data: { checks: Check[] } }
  | { event: 'result'; data: ExerciseOutcome };

/** A control call: its JSON answer, or the problem as one sentence. */
export async function control<T>(
  path: string,
  headers: AdminHeaders,
  init: { method?: string; body?: unknown } = {},
): Promise<{ data?: T; error?: string; status: number }> {
  try {
    const res = await fetch(`/control/${path}`, {
      method: init.method ?? 'GET',
      headers: { ...headers, ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    });
    const body = await res.json().catch(() => undefined);
    return res.ok ? { data: body as T, status: res.status } : { error: problemText(body, res), status: res.status };
  } catch (err) {
    return { error: problemText(err), status: 0 };
  }
}

/** Runs exercise `n`, calling `onEvent` as its progress arrives; resolves when the run ends (or the error). */
export async function runExercise(
  n: number,
  headers: AdminHeaders,
  onEvent: (e: RunEvent) => void,
): Promise<string | null> {
  const res = await fetch(`/control/exercises/${n}/run`, {
    method: 'POST',
    headers: { ...headers, accept: 'text/event-stream' },
  });
  if (!res.ok || !res.body) return problemText(await res.json().catch(() => undefined), res);
  const parser = createParser({
    onEvent: (m) => onEvent({ event: m.event, data: JSON.parse(m.data) } as RunEvent),
  });
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return null;
    parser.feed(value);
  }
}
