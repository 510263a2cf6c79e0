// The overview's hosts by OS release and by agent version, as counted by the scheduler: a
// small table each, every row with its number of hosts, how many are online, and a bar of
// its share that also says the percent in words. Online and offline hosts in a line.
import { useTranslation } from 'react-i18next';
import { agentRows, type InventoryRow, osRows } from '../inventory/inventory-rows.ts';
import { useInventorySummary } from '../inventory/use-inventory-summary.ts';
import { ErrorBanner } from './error-banner.tsx';
import './alerts-view.css';

const MAX_ROWS = 6;

export function FleetInventory() {
  const { t } = useTranslation();
  const { summary, error } = useInventorySummary();
  if (error && !summary) return <ErrorBanner error={error} />;
  if (!summary) return null;
  return (
    <>
      <section aria-labelledby="inventory-hosts-title" className="card inventory-card">
        <h2 id="inventory-hosts-title">{t('inventory.title')}</h2>
        <p className="inventory-total">{t('inventory.total', { total: summary.total })}</p>
        <ul className="state-counts">
          <li data-connection="online">
            <span className="badge connection-online">
              <span aria-hidden="true">●</span> {t('inventory.online')}
            </span>{' '}
            {summary.online}
          </li>
          <li data-connection="offline">
            <span className="badge connection-offline">
              <span aria-hidden="true">○</span> {t('inventory.offline')}
            </span>{' '}
            {summary.offline}
          </li>
        </ul>
      </section>
      <InventoryTable
        id="inventory-os"
        title={t('inventory.byOs')}
        nameHeader={t('inventory.column.os')}
        rows={osRows(summary, MAX_ROWS)}
      />
      <InventoryTable
        id="inventory-agent"
        title={t('inventory.byAgent')}
        nameHeader={t('inventory.column.agent')}
        rows={agentRows(summary, MAX_ROWS)}
      />
    </>
  );
}

function InventoryTable({ id, title, nameHeader, rows }: { id: string; title: string; nameHeader: string; rows: InventoryRow[] }) {
  const { t } = useTranslation();
  return (
    <section aria-labelledby={`${id}-title`} className="card inventory-card">
      <h2 id={`${id}-title`}>{title}</h2>
      {rows.length === 0 ? (
        <p>{t('inventory.none')}</p>
      ) : (
        <table className="inventory" id={id}>
          <thead>
            <tr>
              <th scope="col">{nameHeader}</th>
              <th scope="col">{t('inventory.column.hosts')}</th>
              <th scope="col">{t('inventory.column.online')}</th>
              <th scope="col">{t('inventory.column.share')}</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.others === undefined ? `r:${r.name}` : 'others'}>
                <th scope="row">
                  {r.others !== undefined ? t('inventory.others', { count: r.others }) : r.name || t('inventory.unreported')}
                </th>
                <td>{r.hosts}</td>
                <td>{r.online}</td>
                <td>
                  <span className="share-bar" aria-hidden="true">
                    <span style={{ width: `${r.percent}%` }} />
                  </span>{' '}
                  {t('inventory.percent', { percent: r.percent })}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
