import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const WEB = new URL('../../web/src/', import.meta.url).pathname;
const ROOT = new URL('../../', import.meta.url).pathname;
const files = (dir: string): string[] => readdirSync(dir, { withFileTypes: true })
  .flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : /\.tsx?$/.test(e.name) ? [join(dir, e.name)] : []));

describe('the dashboard code', () => {
  it('uses only the public API: it never imports server code, only the types of the shared schemas', () => {
    const crossings: string[] = [];
    for (const file of files(WEB)) {
      const source = readFileSync(file, 'utf8');
      for (const match of source.matchAll(/^(import|export)\s+(type\s+)?[^'"]*?from\s+['"]([^'"]+)['"]/gm)) {
        const [, , typeOnly, specifier] = match;
        if (!specifier!.startsWith('.')) continue; // a package: preact, uplot
        const target = relative(ROOT, resolve(file, '..', specifier!));
        if (target.startsWith('web/')) continue;
        // Outside web/: the shared schemas' types only, erased from the bundle.
        if (!typeOnly || !/^src\/(domain|store)\//.test(target)) crossings.push(`${relative(ROOT, file)}: ${match[0]}`);
      }
      expect(source, relative(ROOT, file)).not.toMatch(/import\(\s*['"]\.\.\/\.\.\//); // no dynamic import out of web/ either
    }
    expect(crossings).toEqual([]);
  });
});
