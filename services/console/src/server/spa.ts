// The single-page app: /assets/* are the bundle's hashed files (cached for good), and any
// other GET path is index.html, so a deep link (/plans/<plan>/hosts/<host>/steps/<step>,
// as alert notifications send) opens the app, whose router shows the view.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import { ConfigError, NotFoundError } from '@yixing/common';
import type { FastifyInstance } from 'fastify';

export const ASSETS_PREFIX = '/assets/';

/** Whether a GET path is the app's (index.html) rather than a file or an API. */
export function isAppPath(urlPath: string): boolean {
  return !urlPath.startsWith(ASSETS_PREFIX) && !urlPath.startsWith('/api/') && urlPath !== '/api';
}

export async function installSpa(app: FastifyInstance, distDir: string): Promise<void> {
  const indexFile = path.join(distDir, 'index.html');
  const index = await readFile(indexFile).catch((err: NodeJS.ErrnoException) => {
    throw new ConfigError(`${indexFile}: ${err.code === 'ENOENT' ? 'not built; run npm run build:console' : err.message}`);
  });
  await app.register(fastifyStatic, {
    root: path.join(distDir, 'assets'),
    prefix: ASSETS_PREFIX,
    index: false,
    // One route per file found at start (the build comes first): a missing file falls to
    // the route below, a 404 in the one error shape.
    wildcard: false,
    // Names carry the content's hash: a changed file is a new name.
    immutable: true,
    maxAge: '365d',
  });
  app.get('/*', async (req, reply) => {
    const urlPath = req.url.split('?')[0] ?? '/';
    if (!isAppPath(urlPath)) throw new NotFoundError(`no such file or API: ${urlPath}`);
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(index);
  });
}
