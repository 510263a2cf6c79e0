// What a path shows before its view exists (a deep link from an alert still opens the
// app), and a path no view has.
import { useTranslation } from 'react-i18next';
import { Link, useLocation } from 'wouter';

function MessageView({ name }: { name: 'pending' | 'notFound' }) {
  const { t } = useTranslation();
  const [path] = useLocation();
  return (
    <section aria-labelledby="message-title">
      <h1 id="message-title">{t(`${name}.title`)}</h1>
      <p>{t(`${name}.body`, { path })}</p>
      <Link href="/">{t(`${name}.back`)}</Link>
    </section>
  );
}

export const PendingView = () => <MessageView name="pending" />;
export const NotFoundView = () => <MessageView name="notFound" />;
