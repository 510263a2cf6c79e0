// One error model: every error class of the services extends YxError (code, retryable,
// HTTP status), so callers decide by class and code, never by message text. YxError
// itself is the one class that extends Error.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../../infra/dev/paths.ts';

/** `class X extends Error`, `extends TypeError`, … : a class deriving from a built-in error. */
const PLAIN_ERROR_CLASS = /\bclass\s+(\w+)(?:<[^>]*>)?\s+extends\s+((?:Type|Range|Syntax|Reference|Aggregate|Eval|URI)?Error)\b/g;

export function plainErrorClasses(source: string): string[] {
  return [...source.matchAll(PLAIN_ERROR_CLASS)].map((m) => `${m[1]} extends ${m[2]}`);
}

test('the scanner finds classes deriving from built-in errors, not from YxError', () => {
  const src = [
    'export class A extends Error {}',
    'class B extends TypeError {',
    'export abstract class C<T> extends Error {',
    'class D extends YxError {}',
    'class E extends ErrorBase {}',
  ].join('\n');
  assert.deepEqual(plainErrorClasses(src), ['A extends Error', 'B extends TypeError', 'C extends Error']);
});

test('every error class in services/*/src extends YxError', async () => {
  const services = path.join(repoRoot, 'services');
  const found: string[] = [];
  for (const service of await readdir(services)) {
    const src = path.join(services, service, 'src');
    const files = await readdir(src, { recursive: true }).catch(() => [] as string[]);
    for (const file of files.filter((f) => f.endsWith('.ts'))) {
      const where = path.join('services', service, 'src', file);
      for (const cls of plainErrorClasses(await readFile(path.join(src, file), 'utf8'))) found.push(`${where}: ${cls}`);
    }
  }
  assert.deepEqual(found, ['services/common/src/errors.ts: YxError extends Error'], 'only YxError extends Error');
});
