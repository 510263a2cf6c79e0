// The console's entry: translations first, then the app.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app.tsx';
import { setupI18n } from './i18n/setup.ts';
import './styles.css';

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root');
await setupI18n();
createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
