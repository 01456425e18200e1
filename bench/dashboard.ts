/// <reference lib="dom" />
// (The functions sent to the page, page.evaluate, use its globals.)
/**
 * Dashboard benchmark, in Debian's Chromium (headless) against `colloquy serve` on a SQLite file holding N
 * conversations (default 10,000), each with a contact and a message.
 *
 * - Bundle: the JavaScript and CSS of a fresh `vite build`, raw and gzipped.
 * - First inbox page: from navigation start (the Performance API's time origin) to the first conversation row in the
 *   DOM, read in the page (a MutationObserver installed before the app loads), over fresh page loads.
 * - Live message: with the inbox open, a signed WhatsApp webhook for a new contact is posted; the time from just
 *   before the POST to the row appearing in the page (one clock: the same machine).
 * - Scrolling: every page of the N conversations loaded by scrolling, then 2 s of scrolling 400 px a frame; the
 *   frame intervals and the rows in the DOM (virtualised: a screenful, not N).
 *
 *   npm run bench -- dashboard [--conversations 10000] [--loads 15] [--live 20] [--quick]
 */
import { createHmac } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';
import { openStore } from '../src/index.js';
import { buildDashboard } from '../test/helpers/browser.js';
import { fmt, optionOf, row } from './measure.js';

const DIR = new URL('../.bench-tmp/dashboard/', import.meta.url).pathname;
const CLI = new URL('../src/cli/main.ts', import.meta.url).pathname;
const APP_SECRET = 'bench-app-secret';
const PHONE_ID = '106540352242922';
const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
};

async function serve(db: string, web: string): Promise<{ url: string; stop(): void }> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'serve', '--db', db, '--port', '0', '--log-level', 'warn', '--rate-limit', '0', '--dashboard-dir', web], {
    stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, HOST: '127.0.0.1' },
  });
  for await (const line of createInterface({ input: child.stdout! })) {
    const match = / at (http:\/\/\S+)\/v1 /.exec(line);
    if (match) {
      child.stdout!.resume();
      return { url: match[1]!, stop: () => child.kill('SIGTERM') };
    }
  }
  throw new Error('colloquy serve exited before listening');
}

export async function main(args: string[]): Promise<void> {
  const quick = args.includes('--quick');
  const conversations = Number(optionOf(args, '--conversations') ?? (quick ? 2_000 : 10_000));
  const loads = Number(optionOf(args, '--loads') ?? (quick ? 5 : 15));
  const lives = Number(optionOf(args, '--live') ?? (quick ? 5 : 20));
  rmSync(DIR, { recursive: true, force: true });
  mkdirSync(DIR, { recursive: true });
  const bundle = await buildDashboard(`${DIR}web`);

  // N conversations, each opened by an inbound message from its own contact.
  const db = `sqlite:${DIR}colloquy.db`;
  const store = await openStore({ url: db });
  const channel = await store.channels.create({ kind: 'whatsapp', name: 'Clinic', config: { phoneNumberId: PHONE_ID }, secrets: { appSecret: APP_SECRET, accessToken: 'x', verifyToken: 'v' } });
  let next = 0;
  await Promise.all(Array.from({ length: 16 }, async () => {
    for (let i = next++; i < conversations; i = next++) {
      await store.ingest({ channelId: channel.id, from: { address: `5511${String(i).padStart(9, '0')}`, name: `Contact ${i}` }, externalId: `wamid.seed${i}`, content: `Mensagem ${i}` });
    }
  }));
  await store.close();

  const server = await serve(db, `${DIR}web`);
  const browser = await chromium.launch({
    executablePath: process.env.COLLOQUY_TEST_CHROMIUM ?? '/usr/bin/chromium', headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    // tsx names the functions it compiles (`__name(fn, 'step')`): the page needs the helper for the ones sent to it.
    await context.addInitScript({ content: 'globalThis.__name = (fn) => fn;' });
    // Before any script of the page: the moment the first conversation row, and each named contact's row, appear.
    await context.addInitScript(() => {
      const seen: Record<string, number> = {};
      (window as unknown as { seen: typeof seen }).seen = seen;
      new MutationObserver(() => {
        if (seen.first === undefined && document.querySelector('[data-conversation]')) {
          seen.first = performance.now();
          performance.mark('first-inbox-row');
        }
        for (const el of document.querySelectorAll<HTMLElement>('.conv-title')) {
          const name = el.textContent ?? '';
          if (name.startsWith('Live ') && seen[name] === undefined) seen[name] = performance.timeOrigin + performance.now();
        }
      }).observe(document, { childList: true, subtree: true, characterData: true });
    });
    const page = await context.newPage();
    const firstRow: number[] = [];
    for (let i = 0; i <= loads; i++) {
      await page.goto('about:blank'); // a new document each time: a hash change alone would not reload
      await page.goto(`${server.url}/dashboard/#/inbox`);
      await page.waitForSelector('[data-conversation]');
      const at = await page.evaluate(() => performance.getEntriesByName('first-inbox-row')[0]!.startTime);
      if (i > 0) firstRow.push(at); // the first load fills the browser's cache and the server's: not counted
    }

    // Live: the inbox open and its stream live, one webhook at a time.
    await page.waitForSelector('.live-live');
    const live: number[] = [];
    for (let i = 0; i < lives; i++) {
      const name = `Live ${i}`;
      const body = JSON.stringify({
        object: 'whatsapp_business_account',
        entry: [{ id: '1', changes: [{ field: 'messages', value: {
          messaging_product: 'whatsapp', metadata: { display_phone_number: '15550783881', phone_number_id: PHONE_ID },
          contacts: [{ profile: { name }, wa_id: `5599${String(i).padStart(9, '0')}` }],
          messages: [{ from: `5599${String(i).padStart(9, '0')}`, id: `wamid.live${i}.${Date.now()}`, timestamp: String(Math.floor(Date.now() / 1000)), type: 'text', text: { body: 'Olá' } }],
        } }] }],
      });
      const t0 = Date.now();
      const response = await fetch(`${server.url}/webhooks/whatsapp/${channel.id}`, {
        method: 'POST', body, headers: { 'content-type': 'application/json', 'x-hub-signature-256': `sha256=${createHmac('sha256', APP_SECRET).update(body).digest('hex')}` },
      });
      if (response.status !== 200) throw new Error(`webhook answered ${response.status}`);
      await page.waitForFunction((n) => (window as unknown as { seen: Record<string, number> }).seen[n] !== undefined, name, { timeout: 30_000 });
      live.push(await page.evaluate((n) => (window as unknown as { seen: Record<string, number> }).seen[n]!, name) - t0);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    // Scrolling through all N.
    const scroll = await page.evaluate(async (total) => {
      const list = document.querySelector<HTMLElement>('[role=listbox]')!;
      const deadline = Date.now() + 120_000;
      while (document.querySelectorAll('[data-conversation]').length >= 0 && Date.now() < deadline) {
        list.scrollTop = list.scrollHeight;
        await new Promise((resolve) => setTimeout(resolve, 50));
        const count = Number(/([\d,]+) conversations/.exec(document.querySelector('.inbox .hint')?.textContent ?? '')?.[1]?.replaceAll(',', '') ?? 0);
        if (count >= total) break;
      }
      list.scrollTop = 0;
      const frames: number[] = [];
      let last = performance.now();
      const end = last + 2_000;
      await new Promise<void>((resolve) => {
        const step = (now: number) => {
          frames.push(now - last);
          last = now;
          list.scrollTop += 400;
          if (now < end) requestAnimationFrame(step);
          else resolve();
        };
        requestAnimationFrame(step);
      });
      return { frames, rows: document.querySelectorAll('[data-conversation]').length, loaded: document.querySelector('.inbox .hint')?.textContent ?? '' };
    }, conversations + lives);

    console.log(`## Dashboard (${new Date().toISOString().slice(0, 10)}, Node ${process.version}, Chromium headless, SQLite, ${fmt(conversations)} conversations)\n`);
    console.log('| measure | figure | target |');
    console.log('|---|---:|---:|');
    console.log(row(['JavaScript, gzipped (raw)', `${fmt(bundle.jsGzipBytes / 1024, 1)} KiB (${fmt(bundle.jsBytes / 1024, 1)} KiB)`, '≤ 150 KiB']));
    console.log(row([`first inbox row after navigation, median of ${loads} loads`, `${fmt(percentile(firstRow, 0.5), 0)} ms`, '≤ 300 ms']));
    console.log(row(['first inbox row after navigation, slowest', `${fmt(Math.max(...firstRow), 0)} ms`, '']));
    console.log(row([`live message, webhook → row in the inbox, median of ${lives}`, `${fmt(percentile(live, 0.5), 0)} ms`, '≤ 1,000 ms']));
    console.log(row(['live message, slowest', `${fmt(Math.max(...live), 0)} ms`, '']));
    if (args.includes('--verbose')) console.log(`first rows: ${firstRow.map((v) => v.toFixed(0)).join(', ')}; live: ${live.join(', ')}`);
    console.log(row([`scrolling ${scroll.loaded.split('.')[0]}: frame interval p50 / p95`, `${fmt(percentile(scroll.frames, 0.5), 1)} / ${fmt(percentile(scroll.frames, 0.95), 1)} ms`, '']));
    console.log(row(['rows in the DOM while scrolling', fmt(scroll.rows), '']));
  } finally {
    await browser.close();
    server.stop();
  }
}
