// npm run bench -- <name> [options]: runs bench/<name>.ts. Each benchmark prints a markdown table.
const [name, ...args] = process.argv.slice(2);
const known = ['store', 'http', 'cache', 'streams', 'channels', 'agents', 'webhooks', 'dashboard'];
if (!name || !known.includes(name)) {
  console.error(`usage: npm run bench -- <${known.join('|')}> [options]\n  see bench/README.md`);
  process.exit(2);
}
const { main } = (await import(`./${name}.ts`)) as { main(args: string[]): Promise<void> };
await main(args);
