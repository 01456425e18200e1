import { existsSync, readFileSync } from 'node:fs';

/** This package's version, read from its package.json (found from src/ and from dist/src/ alike). */
export const VERSION: string = (() => {
  for (let url = new URL('./', import.meta.url); url.pathname !== '/'; url = new URL('../', url)) {
    const candidate = new URL('package.json', url);
    if (existsSync(candidate)) {
      const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'colloquy') return pkg.version ?? '0.0.0';
    }
  }
  return '0.0.0';
})();
