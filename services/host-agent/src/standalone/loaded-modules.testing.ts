// Loaded with `node --import` by start-up.test.ts: records every module the process loads
// and writes their URLs, one a line, to YX_LOADED_MODULES_FILE when it exits.
import { writeFileSync } from 'node:fs';
import { registerHooks } from 'node:module';

const loaded = new Set<string>();
registerHooks({
  load(url, context, next) {
    loaded.add(url);
    return next(url, context);
  },
});
process.on('exit', () => {
  const file = process.env.YX_LOADED_MODULES_FILE;
  if (file) writeFileSync(file, [...loaded].join('\n'));
});
