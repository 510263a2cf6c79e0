// English strings. Every key here is in zh-CN.ts too (catalogs.test.ts checks).
export const en = {
  app: {
    name: 'Yixing',
    skipToContent: 'Skip to content',
    mainNav: 'Main',
    language: 'Language',
    signOut: 'Sign out',
    role: 'Role: {{role}}',
  },
  nav: { fleet: 'Fleet' },
  login: {
    title: 'Sign in',
    intro: 'Paste an API token. It is kept in this browser tab only and sent with each request to the APIs.',
    token: 'API token',
    submit: 'Sign in',
    checking: 'Checking the token…',
    expired: 'Your token was refused (expired or revoked). Sign in again.',
    empty: 'Paste a token first.',
  },
  fleet: {
    title: 'Fleet overview',
    plans: 'Plans',
    noPlans: 'No plans yet.',
    live: 'Live',
    connecting: 'Connecting…',
    refresh: 'Refresh',
    byState: 'Plans by state',
    hostsInPlans: 'Hosts in plans',
    column: {
      name: 'Plan',
      state: 'State',
      progress: 'Progress',
      hosts: 'Hosts',
      budget: 'Error budget left',
      created: 'Created',
    },
    counts: '{{succeeded}} succeeded · {{failed}} failed · {{inFlight}} in flight · {{pending}} pending',
    budgetLeft: '{{remaining}} of {{limit}}',
    percentDone: '{{percent}}% done',
    openPlan: 'Open plan {{name}}',
  },
  planState: {
    running: 'Running',
    paused: 'Paused',
    'waiting-approval': 'Waiting for approval',
    'budget-exhausted': 'Error budget exhausted',
    aborting: 'Aborting',
    completed: 'Completed',
    aborted: 'Aborted',
  },
  pending: {
    title: 'Not built yet',
    body: 'This view ({{path}}) comes in a later version of the console.',
    back: 'Back to the fleet overview',
  },
  notFound: { title: 'Page not found', body: 'Nothing lives at {{path}}.', back: 'Back to the fleet overview' },
  error: {
    network: 'The console server did not answer. Check your connection and try again.',
    unauthenticated: 'The token was not accepted.',
    forbidden: 'Your role may not do this: {{message}}',
    notFound: 'Not found: {{message}}',
    rateLimited: 'Too many requests; try again in a few seconds.',
    unavailable: 'A service is unavailable: {{message}}',
    invalid: 'The request was refused: {{message}}',
    internal: 'Something went wrong on the server: {{message}}',
    other: 'Error {{status}}: {{message}}',
    dismiss: 'Dismiss',
  },
} as const;

/** The shape every catalog has: the same keys, strings for values. */
type Strings<T> = { [K in keyof T]: T[K] extends string ? string : Strings<T[K]> };
export type Catalog = Strings<typeof en>;
