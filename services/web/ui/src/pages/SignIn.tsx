import { type FormEvent, useState } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { api, problemText } from '../api/client';
import { ErrorBanner } from '../components/Notices';
import { setSession } from '../session';

/** Sign in (`mode="signin"`) or create an account (`mode="signup"`). */
export function SignIn({ mode }: { mode: 'signin' | 'signup' }) {
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [name, setName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const next = params.get('next')?.startsWith('/') ? (params.get('next') as string) : '/';

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const res =
      mode === 'signup'
        ? await api.POST('/api/v1/auth/register', { body: { email, password, name } })
        : await api.POST('/api/v1/auth/login', { body: { email, password } });
    setBusy(false);
    if (!res.data) return setError(problemText(res.error, res.response));
    const token = res.data.token;
    // Login answers with the token only: the name comes from the profile.
    const me = await api.GET('/api/v1/me', { headers: { authorization: `Bearer ${token}` } });
    const user = me.data?.user;
    setSession({ token, name: user?.name || name || email, email: user?.email ?? email });
    navigate(next);
  };

  const title = mode === 'signup' ? 'Create an account' : 'Sign in';
  return (
    <section aria-labelledby="signin-title" className="narrow">
      <h1 id="signin-title">{title}</h1>
      <form className="stack" onSubmit={(e) => void submit(e)}>
        {mode === 'signup' ? (
          <>
            <label htmlFor="name">Name</label>
            <input id="name" autoComplete="name" required value={name} onChange={(e) => setName(e.target.value)} />
          </>
        ) : null}
        <label htmlFor="email">Email</label>
        <input
          id="email"
          type="email"
          autoComplete="email"
          required
          value={email}
          onChange={(e) => setEmail(e.target.value)}
        />
        <label htmlFor="password">Password</label>
        <input
          id="password"
          type="password"
          autoComplete={mode === 'signup' ? 'new-password' : 'current-password'}
          required
          minLength={mode === 'signup' ? 8 : 1}
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
        <button type="submit" className="primary" disabled={busy}>
          {title}
        </button>
      </form>
      <ErrorBanner message={error} />
      <p>
        {mode === 'signup' ? (
          <>
            Have an account? <Link to={`/signin?next=${encodeURIComponent(next)}`}>Sign in</Link>
          </>
        ) : (
          <>
            New here? <Link to={`/signup?next=${encodeURIComponent(next)}`}>Create an account</Link>
          </>
        )}
      </p>
    </section>
  );
}
