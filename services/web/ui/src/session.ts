// Who is signed in: the shopper's token and name, kept in localStorage (so a reload keeps the
// session) and offered to React through useSyncExternalStore. The admin token of the control
// room is typed in and kept for the tab only (sessionStorage), never in the bundle.
import { useSyncExternalStore } from 'react';

export interface Session {
  token: string;
  name: string;
  email: string;
}

const KEY = 'shoplab.session';
const listeners = new Set<() => void>();
let session: Session | null = read();

function read(): Session | null {
  try {
    const raw = localStorage.getItem(KEY);
    return raw ? (JSON.parse(raw) as Session) : null;
  } catch {
    return null;
  }
}

export function currentSession(): Session | null {
  return session;
}

export function setSession(next: Session | null): void {
  session = next;
  if (next) localStorage.setItem(KEY, JSON.stringify(next));
  else localStorage.removeItem(KEY);
  for (const l of listeners) l();
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function useSession(): Session | null {
  return useSyncExternalStore(subscribe, currentSession);
}

const ADMIN_KEY = 'shoplab.adminToken';
export const adminToken = {
  get: (): string => sessionStorage.getItem(ADMIN_KEY) ?? '',
  set: (token: string): void => {
    if (token) sessionStorage.setItem(ADMIN_KEY, token);
    else sessionStorage.removeItem(ADMIN_KEY);
  },
};
