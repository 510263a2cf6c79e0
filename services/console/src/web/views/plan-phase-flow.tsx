import { useTranslation } from 'react-i18next';
import { useElementWidth } from '../layout/use-element-width.ts';
import type { HostFilter } from '../plans/host-pages.ts';
import { flowColumns, flowLayout, type PhaseNode, type PhaseState, RUN_STATES } from '../plans/phase-flow.ts';

const PHASE_ICONS: Record<PhaseState, string> = { pending: '○', open: '◌', running: '◔', done: '✓' };

/** A phase's name: "Canary", "Wave 2" (金丝雀, 第 2 批). */
export function usePhaseName(): (index: number) => string {
  const { t } = useTranslation();
  return (index) => (index === 0 ? t('plan.canary') : t('plan.wave', { n: index }));
}

export function PhaseFlow({
  nodes,
  selected,
  onSelect,
}: {
  nodes: PhaseNode[];
  selected: HostFilter | null;
  onSelect: (f: HostFilter) => void;
}) {
  const [box, width] = useElementWidth<HTMLOListElement>();
  const columns = Math.min(flowColumns(width), Math.max(1, nodes.length));
  const cells = flowLayout(nodes.length, columns);
  return (
    <ol ref={box} className="phase-flow" style={{ gridTemplateColumns: `repeat(${columns}, minmax(0, 1fr))` }} data-columns={columns}>
      {nodes.map((n, i) => (
        <PhaseCard key={n.index} node={n} next={cells[i]?.next ?? 'end'} selected={selected} onSelect={onSelect} />
      ))}
    </ol>
  );
}

function PhaseCard({
  node: n,
  next,
  selected,
  onSelect,
}: {
  node: PhaseNode;
  next: 'right' | 'wrap' | 'end';
  selected: HostFilter | null;
  onSelect: (f: HostFilter) => void;
}) {
  const { t, i18n } = useTranslation();
  const phaseName = usePhaseName();
  const name = phaseName(n.index);
  const stateWord = t(`phaseState.${n.state}`);
  const num = new Intl.NumberFormat(i18n.language);
  const here = selected?.phase === n.index;
  return (
    <li
      className={`phase-node phase-${n.state}${n.current ? ' phase-current' : ''}${here ? ' phase-selected' : ''}`}
      data-phase={n.index}
      data-state={n.state}
      aria-current={n.current ? 'step' : undefined}
    >
      <button
        type="button"
        className="phase-title"
        aria-pressed={here && selected?.state === null}
        aria-label={t('plan.phaseButton', { phase: name, state: stateWord, count: n.size })}
        onClick={() => onSelect({ phase: n.index, state: null })}
      >
        <span className="phase-icon" aria-hidden="true">
          {PHASE_ICONS[n.state]}
        </span>{' '}
        {name} <span className="phase-state">{stateWord}</span>
      </button>
      {(n.current || n.gated) && (
        <p className="phase-marks">
          {n.current && <span className="phase-mark">{t('plan.current')}</span>}
          {n.gated && <span className="phase-mark gated">{t('plan.gated')}</span>}
        </p>
      )}
      <dl className="phase-stats">
        <div>
          <dt>{t('plan.size')}</dt>
          <dd data-stat="size">{num.format(n.size)}</dd>
        </div>
        <div>
          <dt>{t('plan.started')}</dt>
          <dd data-stat="started">{num.format(n.started)}</dd>
        </div>
        <div>
          <dt>{t('plan.inFlight')}</dt>
          <dd data-stat="inFlight">{num.format(n.inFlight)}</dd>
        </div>
        <div>
          <dt>{t('plan.failed')}</dt>
          <dd data-stat="failed">{num.format(n.failed)}</dd>
        </div>
        <div>
          <dt>{t('plan.final')}</dt>
          <dd data-stat="final">{num.format(n.final)}</dd>
        </div>
      </dl>
      <ul className="phase-states" aria-label={t('plan.byState', { phase: name })}>
        {RUN_STATES.filter((s) => n.states[s] > 0).map((s) => (
          <li key={s}>
            <button
              type="button"
              className={`state-count run-${s}`}
              data-run-state={s}
              data-count={n.states[s]}
              aria-pressed={here && selected?.state === s}
              aria-label={t('plan.showHosts', { phase: name, state: t(`runState.${s}`), count: n.states[s] })}
              onClick={() => onSelect({ phase: n.index, state: s })}
            >
              {t(`runState.${s}`)} {num.format(n.states[s])}
            </button>
          </li>
        ))}
      </ul>
      {next !== 'end' && (
        <span className={`flow-arrow flow-${next}`} aria-hidden="true">
          {next === 'right' ? '→' : '↓'}
        </span>
      )}
    </li>
  );
}
