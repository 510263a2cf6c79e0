// `npm run build:console`: the console's single-page app bundled by esbuild into
// dist/console/: index.html and assets/ with content-hashed names (JS, CSS, source maps).
// Every dependency is in the bundle; the page loads nothing from anywhere else.
//
// Skipped when up to date: build.json keeps the SHA-256 of every input esbuild read (its
// metafile), so a changed source or dependency rebuilds and nothing else does.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { repoRoot } from '../dev/paths.ts';
import { PLAN_SPEC_VALIDATOR_INPUTS, planSpecValidatorPlugin } from './plan-spec-validator.ts';

/** Where the console is built (git-ignored); the console server serves it. */
export const consoleDistDir = path.join(repoRoot, 'dist', 'console');
const entry = path.join(repoRoot, 'services', 'console', 'src', 'web', 'main.tsx');

export interface ConsoleBuild {
  /** Whether it was built now (false: it was up to date). */
  built: boolean;
  ms: number;
  /** The entry's JS and CSS, relative to the dist directory. */
  script: string;
  style: string;
}

interface BuildRecord {
  script: string;
  style: string;
  /** Input path (relative to the repository) → SHA-256 of its content. */
  inputs: Record<string, string>;
}

const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

async function upToDate(outDir: string): Promise<BuildRecord | null> {
  const recordFile = path.join(outDir, 'build.json');
  if (!existsSync(recordFile) || !existsSync(path.join(outDir, 'index.html'))) return null;
  const record = JSON.parse(await readFile(recordFile, 'utf8')) as BuildRecord;
  for (const [file, digest] of Object.entries(record.inputs)) {
    const content = await readFile(path.join(repoRoot, file)).catch(() => null);
    if (content === null || sha256(content) !== digest) return null;
  }
  return existsSync(path.join(outDir, record.script)) && existsSync(path.join(outDir, record.style)) ? record : null;
}

/** The page: the bundle's script and style, nothing inline (the CSP allows no inline script or style). */
export function indexHtml(script: string, style: string): string {
  return `<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Yixing 易行</title>
<link rel="stylesheet" href="/${style}">
<script type="module" src="/${script}"></script>
</head>
<body>
<div id="root"></div>
</body>
</html>
`;
}

export async function buildConsole(opts: { outDir?: string; force?: boolean } = {}): Promise<ConsoleBuild> {
  const outDir = opts.outDir ?? consoleDistDir;
  const started = performance.now();
  const current = opts.force ? null : await upToDate(outDir);
  if (current) return { built: false, ms: performance.now() - started, script: current.script, style: current.style };
  // Built beside, then swapped in: a running console server never sees half a build. Its
  // own directory: test processes that build at once do not write into each other's.
  const staging = `${outDir}.building-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  const result = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    minify: true,
    sourcemap: 'linked',
    format: 'esm',
    target: ['es2022', 'chrome110', 'firefox110', 'safari16'],
    jsx: 'automatic',
    define: { 'process.env.NODE_ENV': '"production"' },
    outdir: path.join(staging, 'assets'),
    entryNames: '[name]-[hash]',
    assetNames: '[name]-[hash]',
    loader: { '.svg': 'file', '.woff2': 'file' },
    metafile: true,
    logLevel: 'warning',
    absWorkingDir: repoRoot,
    plugins: [planSpecValidatorPlugin],
  });
  const outputs = Object.entries(result.metafile.outputs);
  const relative = (p: string): string => path.relative(staging, path.join(repoRoot, p));
  const script = outputs.find(([p, o]) => o.entryPoint && p.endsWith('.js'))?.[0];
  const style = outputs.find(([p]) => p.endsWith('.css'))?.[0];
  if (!script || !style) throw new Error(`esbuild wrote no ${script ? 'CSS' : 'JS'} for ${entry}`);
  const inputs: Record<string, string> = {};
  for (const file of Object.keys(result.metafile.inputs)) {
    // Inputs are relative to absWorkingDir; a namespace-prefixed one (none here) is skipped.
    if (file.includes(':')) continue;
    inputs[file] = sha256(await readFile(path.join(repoRoot, file)));
  }
  // The plan validator is generated (not a file esbuild read): what it is made from.
  for (const file of PLAN_SPEC_VALIDATOR_INPUTS) inputs[file] = sha256(await readFile(path.join(repoRoot, file)));
  const record: BuildRecord = { script: relative(script), style: relative(style), inputs };
  await writeFile(path.join(staging, 'index.html'), indexHtml(record.script, record.style));
  await writeFile(path.join(staging, 'build.json'), `${JSON.stringify(record, null, 1)}\n`);
  await mkdir(path.dirname(outDir), { recursive: true });
  await rm(outDir, { recursive: true, force: true });
  await rename(staging, outDir);
  return { built: true, ms: performance.now() - started, script: record.script, style: record.style };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const force = process.argv.includes('--force');
  buildConsole({ force }).then(
    (b) => process.stdout.write(`console ${b.built ? 'built' : 'up to date'} in ${Math.round(b.ms)} ms: ${consoleDistDir}/${b.script}\n`),
    (err: Error) => {
      process.stderr.write(`build:console: ${err.message}\n`);
      process.exit(1);
    },
  );
}
