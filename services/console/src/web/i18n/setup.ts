// i18next with the console's catalogs; the language chosen is remembered in localStorage.
import i18next from 'i18next';
import { initReactI18next } from 'react-i18next';
import { CATALOGS, DEFAULT_LANGUAGE, isLanguage, LANGUAGES, type Language } from './catalogs.ts';

const LANGUAGE_KEY = 'yx.language';

export function storedLanguage(): Language {
  const saved = localStorage.getItem(LANGUAGE_KEY);
  return isLanguage(saved) ? saved : DEFAULT_LANGUAGE;
}

export async function setupI18n(): Promise<typeof i18next> {
  await i18next.use(initReactI18next).init({
    resources: Object.fromEntries(LANGUAGES.map((l) => [l, { translation: CATALOGS[l] }])),
    lng: storedLanguage(),
    fallbackLng: DEFAULT_LANGUAGE,
    supportedLngs: [...LANGUAGES],
    // React escapes what it renders.
    interpolation: { escapeValue: false },
    returnNull: false,
  });
  document.documentElement.lang = i18next.language;
  i18next.on('languageChanged', (lng) => {
    document.documentElement.lang = lng;
    localStorage.setItem(LANGUAGE_KEY, lng);
  });
  return i18next;
}
