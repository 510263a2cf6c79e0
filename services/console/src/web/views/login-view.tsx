// Sign in by pasting an API token; it is checked with one call before it is kept.
import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { type ConsoleApiError, describeApiError } from '../api/api-error.ts';
import { whoami } from '../api/client.ts';
import { type Caller, session } from '../session/session.ts';

export function LoginView({ onSignedIn }: { onSignedIn: (caller: Caller) => void }) {
  const { t } = useTranslation();
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const [reason] = useState(() => session.takeSignOutReason());
  const [problem, setProblem] = useState<string | null>(reason === 'expired' ? t('login.expired') : null);

  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    const value = token.trim();
    if (!value) return setProblem(t('login.empty'));
    setBusy(true);
    setProblem(null);
    session.signIn(value);
    try {
      const caller = await whoami();
      // The path asked for (a deep link) is shown once signed in.
      onSignedIn(caller);
    } catch (err) {
      session.signOut();
      const { key, values } = describeApiError(err as ConsoleApiError);
      setProblem(t(key, values));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="login" aria-labelledby="login-title">
      <h1 id="login-title">{t('login.title')}</h1>
      <p>{t('login.intro')}</p>
      {problem && (
        <p className="error-banner" role="alert">
          {problem}
        </p>
      )}
      <form onSubmit={(e) => void submit(e)}>
        <label htmlFor="token">{t('login.token')}</label>
        <input
          id="token"
          name="token"
          type="password"
          autoComplete="off"
          spellCheck={false}
          value={token}
          onChange={(e) => setToken(e.target.value)}
        />
        <button type="submit" disabled={busy}>
          {busy ? t('login.checking') : t('login.submit')}
        </button>
      </form>
    </section>
  );
}
