// The console's bundle: content-hashed files and an index.html that loads only them (no
// inline script or style, nothing from another origin), built again only when an input
// changed.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { buildConsole } from '../../infra/console/build.ts';

const outDir = path.join(await mkdtemp(path.join(os.tmpdir(), 'yx-console-build-')), 'console');
after(() => rm(path.dirname(outDir), { recursive: true, force: true }));

test('index.html loads the hashed bundle and nothing else', async () => {
  const b = await buildConsole({ outDir, force: true });
  assert.equal(b.built, true);
  assert.match(b.script, /^assets\/main-[A-Z0-9]{8}\.js$/);
  assert.match(b.style, /^assets\/main-[A-Z0-9]{8}\.css$/);
  const html = await readFile(path.join(outDir, 'index.html'), 'utf8');
  const sources = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
  assert.deepEqual(sources.sort(), [`/${b.script}`, `/${b.style}`].sort());
  assert.doesNotMatch(html, /<script>|<style|style="/, 'nothing inline (the CSP allows none)');
  const files = await readdir(path.join(outDir, 'assets'));
  assert.ok(files.includes(path.basename(b.script)) && files.includes(path.basename(b.style)));
  const js = await readFile(path.join(outDir, b.script), 'utf8');
  assert.doesNotMatch(js, /from\s*["']https?:|import\(["']https?:/, 'no module loaded from elsewhere');
});

test('an unchanged build is skipped; a changed input builds again', async () => {
  const again = await buildConsole({ outDir });
  assert.equal(again.built, false);
  const recordFile = path.join(outDir, 'build.json');
  const record = JSON.parse(await readFile(recordFile, 'utf8')) as { inputs: Record<string, string> };
  const entry = Object.keys(record.inputs).find((f) => f.endsWith('src/web/main.tsx'));
  assert.ok(entry, 'the entry is among the recorded inputs');
  assert.ok(
    Object.keys(record.inputs).some((f) => f.includes('node_modules/react-dom/')),
    'dependencies are inputs too',
  );
  // As if main.tsx had changed since the build.
  record.inputs[entry] = '0'.repeat(64);
  await writeFile(recordFile, JSON.stringify(record));
  assert.equal((await buildConsole({ outDir })).built, true);
});
