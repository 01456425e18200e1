// tsc does not copy non-TypeScript files; the backends read .sql and the Redis cache .lua files at run time.
import { cpSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (name.endsWith('.sql') || name.endsWith('.lua')) cpSync(path, join('dist', path));
  }
}
walk('src');
