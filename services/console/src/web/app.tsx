// The console's shell: header (navigation, language switch, sign-out) and the routes.
// A view is a component under views/ given a <Route> here; every string it shows is a
// key of i18n/en.ts and i18n/zh-CN.ts.
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, Redirect, Route, Switch, useLocation } from 'wouter';
import { whoami } from './api/client.ts';
import { isLanguage, LANGUAGE_NAMES, LANGUAGES } from './i18n/catalogs.ts';
import { CallerProvider } from './session/caller-context.tsx';
import { type Caller, session } from './session/session.ts';
import { AlertsView } from './views/alerts-view.tsx';
import { AssessmentView } from './views/assessment-view.tsx';
import { FleetView } from './views/fleet-view.tsx';
import { HostView } from './views/host-view.tsx';
import { LoginView } from './views/login-view.tsx';
import { NotFoundView, PendingView } from './views/placeholder-views.tsx';
import { PlanNewView } from './views/plan-new-view.tsx';
import { PlanView } from './views/plan-view.tsx';

export function App() {
  const { t } = useTranslation();
  const [signedIn, setSignedIn] = useState(() => session.token() !== null);
  const [caller, setCaller] = useState<Caller | null>(null);
  const [location] = useLocation();
  useEffect(() => {
    const onSignOut = (): void => {
      setSignedIn(false);
      setCaller(null);
    };
    window.addEventListener('yx:signed-out', onSignOut);
    return () => window.removeEventListener('yx:signed-out', onSignOut);
  }, []);
  // A tab that kept its token (a reload, a deep link) asks again who it is.
  useEffect(() => {
    if (!signedIn || caller) return;
    const ac = new AbortController();
    whoami(ac.signal).then(setCaller, () => {});
    return () => ac.abort();
  }, [signedIn, caller]);

  return (
    <>
      <a className="skip" href="#main">
        {t('app.skipToContent')}
      </a>
      <header className="app-header">
        <Link href="/" className="brand">
          {t('app.name')}
        </Link>
        {signedIn && (
          <nav aria-label={t('app.mainNav')}>
            <Link href="/" aria-current={location === '/' ? 'page' : undefined}>
              {t('nav.fleet')}
            </Link>
            <Link href="/alerts" aria-current={location === '/alerts' ? 'page' : undefined}>
              {t('alerts.nav')}
            </Link>
            <Link href="/assessment" aria-current={location === '/assessment' ? 'page' : undefined}>
              {t('assessment.nav')}
            </Link>
          </nav>
        )}
        <div className="header-tools">
          <LanguageSwitch />
          {caller && (
            <span className="caller" data-role={caller.role}>
              {t('app.identity', { name: caller.name, role: t(`role.${caller.role}`) })}
            </span>
          )}
          {signedIn && (
            <button type="button" onClick={() => session.signOut()}>
              {t('app.signOut')}
            </button>
          )}
        </div>
      </header>
      <main id="main">
        {signedIn ? (
          <CallerProvider value={caller}>
            <Switch>
              <Route path="/" component={FleetView} />
              <Route path="/login">
                <Redirect to="/" />
              </Route>
              <Route path="/alerts" component={AlertsView} />
              <Route path="/hosts/:host" component={HostView} />
              <Route path="/plans/new" component={PlanNewView} />
              <Route path="/plans/:plan/hosts/:host/steps/:step" component={HostView} />
              <Route path="/plans/:plan/hosts/:host" component={HostView} />
              <Route path="/plans/:plan" component={PlanView} />
              <Route path="/assessment" component={AssessmentView} />
              <Route path="/plans/:plan/assessment" component={AssessmentView} />
              <Route path="/plans/*?" component={PendingView} />
              <Route component={NotFoundView} />
            </Switch>
          </CallerProvider>
        ) : (
          <LoginView
            onSignedIn={(c) => {
              setCaller(c);
              setSignedIn(true);
            }}
          />
        )}
      </main>
    </>
  );
}

function LanguageSwitch() {
  const { t, i18n } = useTranslation();
  return (
    <label className="language">
      <span>{t('app.language')}</span>
      <select
        aria-label={t('app.language')}
        value={i18n.language}
        onChange={(e) => {
          if (isLanguage(e.target.value)) void i18n.changeLanguage(e.target.value);
        }}
      >
        {LANGUAGES.map((l) => (
          <option key={l} value={l} lang={l}>
            {LANGUAGE_NAMES[l]}
          </option>
        ))}
      </select>
    </label>
  );
}
