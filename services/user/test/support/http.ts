import type { HttpApp } from '@shoplab/chassis';
import { PASSWORD, uniqueEmail } from './app';

export interface Session {
  id: string;
  email: string;
  token: string;
  auth: { authorization: string };
}

/** Registers a fresh user through the API and returns its id and token. */
export async function registerUser(app: HttpApp, overrides: { email?: string; name?: string } = {}): Promise<Session> {
  const email = overrides.email ?? uniqueEmail();
  const res = await app.inject({
    method: 'POST',
    url: '/v1/auth/register',
    payload: { email, password: PASSWORD, name: overrides.name ?? 'Test User' },
  });
  if (res.statusCode !== 201) throw new Error(`register failed: ${res.statusCode} ${res.body}`);
  const body = res.json() as { user: { id: string; email: string }; token: string };
  return {
    id: body.user.id,
    email: body.user.email,
    token: body.token,
    auth: { authorization: `Bearer ${body.token}` },
  };
}

export const berlin = { line1: 'Invalidenstraße 116', city: 'Berlin', postalCode: '10115', country: 'DE' };
export const london = { line1: '10 Downing Street', city: 'London', postalCode: 'SW1A 2AA', country: 'GB' };
