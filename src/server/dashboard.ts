import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { errorBody } from './errors.js';

/** dist/web, built by `npm run build` (at install): beside dist/src when running built, under dist/ from the sources. */
export function dashboardRoot(): string {
  const top = fileURLToPath(new URL('../../', import.meta.url));
  return basename(top) === 'dist' ? join(top, 'web') : join(top, 'dist', 'web');
}

// The page talks to its own origin only; blob: for media fetched with the key, data: for the empty icon.
const CSP = "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/**
 * The dashboard at /dashboard/ (`/` redirects there): static files only; everything it shows comes from the public API
 * with the key the person signs in with, so it needs no authentication of its own.
 */
export async function registerDashboard(app: FastifyInstance, dir?: string): Promise<void> {
  const root = resolve(dir ?? dashboardRoot());
  // A directory named on purpose must hold a build; the default one is missing only when nobody built it yet.
  if (dir !== undefined && !existsSync(join(root, 'index.html'))) {
    throw new Error(`The dashboard directory ${root} holds no index.html: give the outDir of a \`vite build\` of web/ (npm run build writes dist/web).`);
  }
  for (const path of ['/', '/dashboard']) app.get(path, { schema: { hide: true } }, async (_request, reply) => reply.redirect('/dashboard/'));
  if (!existsSync(join(root, 'index.html'))) {
    app.get('/dashboard/*', { schema: { hide: true } }, async (_request, reply) =>
      reply.code(503).send(errorBody('unavailable', `The dashboard is not built (no ${join(root, 'index.html')}): run \`npm run build\`.`)));
    return;
  }
  await app.register(fastifyStatic, {
    root,
    prefix: '/dashboard/',
    decorateReply: false,
    schemaHide: true,
    index: 'index.html',
    cacheControl: false, // set below
    dotfiles: 'deny',
    redirect: true,
    setHeaders: (res, path) => {
      res.setHeader('content-security-policy', CSP);
      res.setHeader('x-content-type-options', 'nosniff');
      res.setHeader('referrer-policy', 'no-referrer');
      // Assets carry their hash in their name; the page itself is always asked again.
      res.setHeader('cache-control', path.startsWith(join(root, 'assets')) ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
}
