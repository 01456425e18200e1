/// <reference lib="dom" />
// (The functions sent to the page, page.evaluate, use its globals.)
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.COLLOQUY_TEST_CHROMIUM ?? '/usr/bin/chromium';
const required = process.env.COLLOQUY_REQUIRE_SERVICES === '1';

/** Whether Debian's Chromium is installed; under COLLOQUY_REQUIRE_SERVICES=1 (CI) its absence is a failure, not a skip. */
export function chromiumAvailable(): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (required) throw new Error(`Chromium at ${CHROMIUM} is required (COLLOQUY_REQUIRE_SERVICES=1) but missing: apt-get install chromium`);
  return false;
}

/** Debian's Chromium, headless, with an empty profile of its own (removed by close()). */
export async function launchBrowser(): Promise<{ context: BrowserContext; page: Page; close(): Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), 'colloquy-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 860 },
  });
  const page = context.pages()[0] ?? await context.newPage();
  return {
    context, page,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Builds the dashboard from web/ into `outDir` (Vite's own build, as `npm run build` does). */
export async function buildDashboard(outDir: string): Promise<{ jsBytes: number; jsGzipBytes: number }> {
  const { build } = await import('vite');
  // The bundle users get: Vite follows NODE_ENV over its mode, and vitest sets it to `test` (which keeps dev code).
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await build({ configFile: new URL('../../web/vite.config.ts', import.meta.url).pathname, mode: 'production', logLevel: 'silent', build: { outDir, emptyOutDir: true } });
  } finally {
    if (nodeEnv === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = nodeEnv;
  }
  const assets = join(outDir, 'assets');
  const js = readdirSync(assets).filter((f) => f.endsWith('.js')).map((f) => readFileSync(join(assets, f)));
  return { jsBytes: js.reduce((n, b) => n + b.length, 0), jsGzipBytes: js.reduce((n, b) => n + gzipSync(b, { level: 9 }).length, 0) };
}

/** axe-core's violations of the page as it is now, those of `serious` or `critical` impact. */
export async function seriousViolations(page: Page): Promise<{ id: string; impact: string; help: string; targets: string[] }[]> {
  const source = readFileSync(new URL('../../node_modules/axe-core/axe.min.js', import.meta.url), 'utf8');
  // Evaluated, not added as a <script>: the dashboard's Content-Security-Policy refuses inline scripts, rightly.
  await page.evaluate(source);
  const results = await page.evaluate(() => (window as unknown as { axe: { run(context: Document, options: object): Promise<{ violations: { id: string; impact: string; help: string; nodes: { target: string[] }[] }[] }> } })
    .axe.run(document, { resultTypes: ['violations'] }));
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => n.target.join(' ')) }));
}
