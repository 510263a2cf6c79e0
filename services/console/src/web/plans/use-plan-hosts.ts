// The drill-down's hosts: pages of GET /v1/plans/:id/hosts for one phase and state, asked
// for as the virtualised list nears the end of what is loaded (`shown`), and hosts'
// changes from the plan's stream gathered and applied to listed rows twice a second.
import { useCallback, useEffect, useRef, useState } from 'react';
import type { ConsoleApiError } from '../api/api-error.ts';
import { API, getJson } from '../api/client.ts';
import {
  applyHostChanges,
  emptyList,
  failedPage,
  type HostChange,
  type HostFilter,
  type HostList,
  hostsPageUrl,
  mergePage,
  nextRequest,
  requesting,
} from './host-pages.ts';

const FLUSH_MS = 500;

type Page = Parameters<typeof mergePage>[3];

export interface PlanHosts {
  list: HostList | null;
  error: ConsoleApiError | null;
  /** The list shows rows up to this index: load the next page if it nears the end. */
  shown: (lastIndex: number) => void;
  /** A host's change from the plan's event stream. */
  changed: (change: HostChange) => void;
}

export function usePlanHosts(planId: string, filter: HostFilter | null): PlanHosts {
  const [list, setList] = useState<HostList | null>(null);
  const [error, setError] = useState<ConsoleApiError | null>(null);
  const current = useRef<HostList | null>(null);
  current.current = list;
  const aborts = useRef(new AbortController());
  const pending = useRef(new Map<string, HostChange>());

  const load = useCallback(
    (f: HostFilter, cursor: string) => {
      const signal = aborts.current.signal;
      setList((l) => (l ? requesting(l, cursor) : l));
      getJson<Page>(hostsPageUrl(API.scheduler, planId, f, cursor), signal).then(
        (page) => {
          if (signal.aborted) return;
          setError(null);
          setList((l) => (l ? mergePage(l, f, cursor, page) : l));
        },
        (err: ConsoleApiError) => {
          if (signal.aborted) return;
          setError(err);
          setList((l) => (l ? failedPage(l, f, cursor) : l));
        },
      );
    },
    [planId],
  );

  const phase = filter?.phase ?? null;
  const state = filter?.state ?? null;
  // A new filter starts a new list (and drops the answers still out for the old one).
  useEffect(() => {
    aborts.current.abort();
    aborts.current = new AbortController();
    pending.current.clear();
    setError(null);
    if (phase === null) {
      setList(null);
      return;
    }
    const f = { phase, state };
    const fresh = emptyList(f);
    setList(fresh);
    current.current = fresh;
    load(f, '');
  }, [phase, state, load]);
  useEffect(() => () => aborts.current.abort(), []);

  useEffect(() => {
    const timer = setInterval(() => {
      if (pending.current.size === 0) return;
      const changes = pending.current;
      pending.current = new Map();
      setList((l) => (l ? applyHostChanges(l, changes) : l));
    }, FLUSH_MS);
    return () => clearInterval(timer);
  }, []);

  const shown = useCallback(
    (lastIndex: number) => {
      const l = current.current;
      if (!l) return;
      const cursor = nextRequest(l, lastIndex);
      if (cursor !== null && cursor !== '') {
        current.current = requesting(l, cursor);
        load(l.filter, cursor);
      }
    },
    [load],
  );
  const changed = useCallback((c: HostChange) => {
    if (current.current) pending.current.set(c.hostId, c);
  }, []);

  return { list, error, shown, changed };
}
