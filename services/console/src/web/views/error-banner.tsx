import { useTranslation } from 'react-i18next';
import { type ConsoleApiError, describeApiError } from '../api/api-error.ts';

/** An API failure in the user's words (the API's message inside them). */
export function ErrorBanner({ error }: { error: ConsoleApiError }) {
  const { t } = useTranslation();
  const { key, values } = describeApiError(error);
  return (
    <p className="error-banner" role="alert">
      {t(key, values)}
    </p>
  );
}
