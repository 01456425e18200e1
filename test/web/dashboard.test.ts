/// <reference lib="dom" />
// (The functions sent to the page, page.evaluate, use its globals.)
import { createHmac } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeGraphApi, type FakeGraphApi } from '../fakes/fake-graph-api.js';
import { startWebhookReceiver, type WebhookReceiver } from '../fakes/fake-webhook-receiver.js';
import { buildDashboard, chromiumAvailable, launchBrowser, seriousViolations } from '../helpers/browser.js';
import { startServer, type ServerProcess } from '../helpers/server-process.js';
import { openStore } from '../../src/index.js';
import { waitFor } from '../helpers/wait.js';

const ADMIN_KEY = 'admin-dashboard-test-key-0123456789';
const APP_SECRET = 'dashboard-app-secret';
const PHONE_ID = '106540352242922';
const SHOTS = new URL('../../test-results/dashboard/', import.meta.url).pathname;
const statuses = JSON.parse(readFileSync(new URL('../fixtures/whatsapp/statuses.json', import.meta.url), 'utf8')) as { statuses: Record<string, any> };
// Timings are the benchmark's (bench/dashboard.ts): a wait here only bounds how long a broken page is waited for.
const LONG = 30_000;
// A 1×1 PNG, the image a customer sends.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');

describe.skipIf(!chromiumAvailable())('the dashboard in Chromium', { timeout: 120_000 }, () => {
  let dir: string;
  let graph: FakeGraphApi;
  let receiver: WebhookReceiver;
  let server: ServerProcess;
  let browser: Awaited<ReturnType<typeof launchBrowser>>;
  let page: Page;
  let key: string;
  let whatsapp: string;
  let quiet: string;
  let ana: string;
  let bundle: { jsBytes: number; jsGzipBytes: number };
  /** Console errors and uncaught exceptions of the page, with what the page was doing. */
  const problems: string[] = [];
  /** While the test has stopped the server on purpose, the browser's failed connections are expected. */
  let serverDown = false;

  const call = async (method: string, path: string, body?: unknown, bearer = key) => {
    const response = await fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${bearer}`, ...(bearer === ADMIN_KEY ? { 'x-colloquy-tenant': 'clinic' } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  };
  const inbound = (channelId: string, address: string, name: string, content: string) =>
    call('POST', '/v1/inbound', { channelId, from: { address, name }, externalId: `wamid.${address}.${Date.now()}`, content });
  /** A status notification as Meta sends it, signed with the app secret. */
  const status = async (wamid: string, to: string, value: 'delivered' | 'read') => {
    const notification = structuredClone(statuses.statuses[value]);
    Object.assign(notification.entry[0].changes[0].value.statuses[0], { id: wamid, recipient_id: to, timestamp: String(Math.floor(Date.now() / 1000)) });
    const body = JSON.stringify(notification);
    const response = await fetch(`${server.url}/webhooks/whatsapp/${whatsapp}`, {
      method: 'POST', body,
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': `sha256=${createHmac('sha256', APP_SECRET).update(body).digest('hex')}` },
    });
    expect(response.status).toBe(200);
  };
  const rows = () => page.getByRole('listbox', { name: /^Conversations/ }).getByRole('option');
  const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  const open = async (hash: string, heading: string) => {
    const target = `${server.url}/dashboard/${hash}`;
    // The same URL again would not reload the page (only a hash): a fresh one reads everything anew.
    if (page.url() === target) await page.reload();
    else await page.goto(target);
    await page.getByRole('heading', { level: 1, name: heading }).waitFor({ timeout: LONG });
  };
  const accessible = async (what: string) => {
    expect(await seriousViolations(page), `axe on ${what}`).toEqual([]);
  };

  const serve = (port = '0') => startServer(`sqlite:${join(dir, 'colloquy.db')}`, ['--dashboard-dir', join(dir, 'web'), '--alert-interval', '300', '--health-interval', '300', '--port', port],
    { COLLOQUY_ADMIN_KEY: ADMIN_KEY, COLLOQUY_WEBHOOKS_ALLOW_PRIVATE: '1' });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'colloquy-dashboard-'));
    mkdirSync(SHOTS, { recursive: true });
    bundle = await buildDashboard(join(dir, 'web'));
    graph = await startFakeGraphApi();
    receiver = await startWebhookReceiver();
    // Private webhook targets allowed: the receiver is on this machine.
    server = await serve();
    key = (await call('POST', '/v1/keys', { tenant: 'clinic', name: 'dashboard' }, ADMIN_KEY)).secret;
    const secrets = { accessToken: 'EAAG-token', appSecret: APP_SECRET, verifyToken: 'verify' };
    // Only the admin key may point a channel at another Graph API (the fake).
    whatsapp = (await call('POST', '/v1/channels', { kind: 'whatsapp', name: 'Clinic WhatsApp', config: { phoneNumberId: PHONE_ID, graphApiUrl: graph.url }, secrets }, ADMIN_KEY)).id;
    // A line that goes stale a second after its last message.
    quiet = (await call('POST', '/v1/channels', { kind: 'whatsapp', name: 'Night line', config: { phoneNumberId: '2000', graphApiUrl: graph.url, staleAfterSeconds: 1 }, secrets }, ADMIN_KEY)).id;
    await inbound(quiet, '5511900000001', 'Carla', 'Alguém aí?');
    ana = (await inbound(whatsapp, '5511900000002', 'Ana', 'Quero marcar uma consulta')).conversation.id;
    // Usage to chart: an API conversation with a model call recorded.
    const api = await call('POST', '/v1/conversations', { title: 'Agent playground' });
    await call('POST', `/v1/conversations/${api.id}/messages`, { role: 'user', content: 'Olá' });
    await call('POST', `/v1/conversations/${api.id}/messages`, {
      role: 'assistant', content: 'Olá! Como posso ajudar?', usage: { provider: 'openai', model: 'openai:gpt-4o-mini', inputTokens: 1200, outputTokens: 300 },
    });
    browser = await launchBrowser();
    page = browser.page;
    page.on('console', (message) => {
      if (message.type() !== 'error') return;
      // Signed out, the page asks GET /v1/me whether the server opens without a key: that 401 is the answer, not a fault.
      if (message.location().url.endsWith('/v1/me') && /status of 401/.test(message.text())) return;
      if (serverDown && /ERR_CONNECTION_REFUSED/.test(message.text())) return;
      problems.push(`${page.url()}: console error: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`${page.url()}: uncaught: ${error.message}`));
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await graph?.close();
    await receiver?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('is built within its budget: at most 150 KB of JavaScript gzipped', () => {
    console.log(`dashboard bundle: ${(bundle.jsBytes / 1024).toFixed(1)} KiB of JavaScript, ${(bundle.jsGzipBytes / 1024).toFixed(1)} KiB gzipped`);
    expect(bundle.jsGzipBytes).toBeLessThanOrEqual(150 * 1024);
  });

  it('is served at /dashboard/, with / redirecting there', async () => {
    const root = await fetch(`${server.url}/`, { redirect: 'manual' });
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/dashboard/');
    const index = await fetch(`${server.url}/dashboard/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(index.headers.get('cache-control')).toBe('no-cache');
    const script = /src="(\/dashboard\/assets\/[^"]+\.js)"/.exec(await index.text())![1];
    expect((await fetch(`${server.url}${script}`)).headers.get('cache-control')).toContain('immutable');
    expect([403, 404]).toContain((await fetch(`${server.url}/dashboard/.env`)).status); // dotfiles are never served
  });

  it('signs in with an API key; a wrong one is refused with a message', async () => {
    await page.goto(`${server.url}/`);
    await page.getByLabel('API key').waitFor({ timeout: LONG });
    await accessible('the sign-in page');
    await shot('sign-in');
    await page.getByLabel('API key').fill('not-a-key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'refused' }).waitFor({ timeout: LONG });
    await page.getByLabel('API key').fill(key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Inbox' }).waitFor({ timeout: LONG });
    expect(await page.evaluate(() => sessionStorage.getItem('colloquy.key'))).toBe(key);
  });

  it('shows an inbound message posted through the API in the open inbox, without a reload', async () => {
    await rows().filter({ hasText: 'Ana' }).waitFor({ timeout: LONG });
    await page.locator('.live-live').waitFor({ timeout: LONG });
    await page.evaluate(() => { (window as unknown as { notReloaded: boolean }).notReloaded = true; });
    await inbound(whatsapp, '5511900000003', 'Bruna', 'Tem horário amanhã?');
    const row = rows().filter({ hasText: 'Bruna' });
    await row.waitFor({ timeout: LONG });
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
    // Newest activity first, with its unread count.
    expect(await rows().first().textContent()).toContain('Bruna');
    expect(await row.getByText('1 unread').count()).toBe(1); // the count a screen reader reads
    // Filters: by status, by channel.
    await page.getByLabel('Channel').selectOption({ label: 'Night line' });
    await waitFor('only the Night line', async () => (await rows().allTextContents()).join('|').includes('Carla') && (await rows().count()) === 1, LONG);
    await page.getByLabel('Channel').selectOption({ label: 'Any' });
    await rows().filter({ hasText: 'Bruna' }).waitFor({ timeout: LONG });
    await page.getByLabel('Status').selectOption({ label: 'Closed' });
    await page.getByText('No conversation here yet.').waitFor({ timeout: LONG }); // Ana's was reopened
    await page.getByLabel('Status').selectOption({ label: 'Any' });
    // The contact search narrows the list to one person.
    await page.getByRole('searchbox', { name: 'Contact' }).fill('brun');
    await page.getByRole('list', { name: 'Matching contacts' }).getByRole('button', { name: /Bruna/ }).click();
    await waitFor("only Bruna's conversation", async () => (await rows().count()) === 1 && (await rows().first().textContent())!.includes('Bruna'), LONG);
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('clear'); // focus stays in the search
    await page.getByRole('button', { name: 'clear' }).click();
    await rows().filter({ hasText: 'Ana' }).waitFor({ timeout: LONG });
    // Closed and reopened conversations change in place, live.
    const anaRow = rows().filter({ hasText: 'Ana' });
    await call('PATCH', `/v1/conversations/${ana}`, { status: 'closed' });
    await anaRow.locator('.badge', { hasText: 'closed' }).waitFor({ timeout: LONG });
    await inbound(whatsapp, '5511900000002', 'Ana', 'Esqueci de perguntar: aceitam convênio?');
    await anaRow.locator('.badge', { hasText: 'open' }).waitFor({ timeout: LONG });
    await waitFor('Ana back at the top', async () => (await rows().first().textContent())!.includes('Ana'), LONG);
    expect((await call('POST', `/v1/conversations/${ana}/read`)).unreadCount).toBe(0);
    await inbound(whatsapp, '5511900000003', 'Bruna', 'Pode ser de manhã');
    await waitFor('Bruna back at the top', async () => (await rows().first().textContent())!.includes('Bruna'), LONG);
    await accessible('the inbox');
    await shot('inbox');
  });

  it('moves through the inbox with the keyboard and opens a conversation with Enter', async () => {
    const list = page.getByRole('listbox');
    await list.focus();
    const selected = () => page.locator('[role=option][aria-selected=true]').textContent();
    expect(await selected()).toContain('Bruna');
    await page.keyboard.press('ArrowDown');
    expect(await selected()).toContain('Ana');
    await page.keyboard.press('End');
    expect(await selected()).toContain('Carla');
    await page.keyboard.press('Home');
    expect(await selected()).toContain('Bruna');
    await page.keyboard.press('ArrowDown');
    // A conversation arriving live above the selection does not move the selection to another conversation.
    await inbound(whatsapp, '5511900000005', 'Eva', 'Bom dia');
    await rows().first().filter({ hasText: 'Eva' }).waitFor({ timeout: LONG });
    expect(await selected()).toContain('Ana');
    await page.keyboard.press('ArrowUp');
    expect(await selected()).toContain('Bruna');
    await page.keyboard.press('Enter');
    await page.waitForURL(/#\/conversations\/[0-9a-f-]{36}$/, { timeout: LONG });
    await page.getByText('Tem horário amanhã?').waitFor({ timeout: LONG });
    // Opening it marked it read: back in the inbox, its unread count is gone.
    const bruna = page.url().split('/').at(-1)!;
    await waitFor('Bruna read', async () => (await call('GET', `/v1/conversations/${bruna}`)).unreadCount === 0, LONG);
    await page.goBack();
    await rows().filter({ hasText: 'Bruna' }).waitFor({ timeout: LONG });
    expect(await rows().filter({ hasText: 'Bruna' }).getByText(/unread/).count()).toBe(0);
    expect(await rows().filter({ hasText: 'Eva' }).getByText('1 unread').count()).toBe(1);
    await page.goForward();
    await page.getByText('Tem horário amanhã?').waitFor({ timeout: LONG });
  });

  it('sends a human reply to the fake WhatsApp server, and moves its ticks as status webhooks arrive', async () => {
    await page.getByLabel(/Reply as a person/).fill('Temos às 10h, pode ser?');
    await page.getByRole('button', { name: 'Send' }).click();
    await waitFor('the reply at the fake Graph API', () => graph.sends.some((s) => s.body.to === '5511900000003' && s.body.text?.body === 'Temos às 10h, pode ser?'), LONG);
    const ticks = page.locator('li.msg.human .ticks');
    await page.locator('li.msg.human .ticks[data-status="sent"]').waitFor({ timeout: LONG });
    const messageId = await page.locator('li.msg.human').getAttribute('data-message');
    const sent = await call('GET', `/v1/messages/${messageId}`);
    expect(sent.sender).toBe('human');
    await status(sent.externalId, '5511900000003', 'delivered');
    await page.locator('li.msg.human .ticks[data-status="delivered"]').waitFor({ timeout: LONG });
    await status(sent.externalId, '5511900000003', 'read');
    await page.locator('li.msg.human .ticks[data-status="read"]').waitFor({ timeout: LONG });
    expect(await ticks.textContent()).toContain('Delivery: read');
    await accessible('the conversation page');
    await shot('conversation');
  });

  it("renders a message's parts, the state panel live, and acts on the conversation", async () => {
    const inbound = await call('POST', '/v1/inbound', {
      channelId: whatsapp, from: { address: '5511900000004', name: 'Davi' }, externalId: 'wamid.parts.1', content: 'Clínica Centro',
      parts: [{ type: 'location', latitude: -23.55052, longitude: -46.633308, name: 'Clínica Centro', address: 'Rua A, 1' }],
    });
    const id = inbound.conversation.id;
    await call('POST', '/v1/inbound', { channelId: whatsapp, from: { address: '5511900000004' }, externalId: 'wamid.parts.2', content: 'Manhã', parts: [{ type: 'interactive_reply', kind: 'button_reply', id: 'am', title: 'Manhã' }] });
    await call('POST', '/v1/inbound', { channelId: whatsapp, from: { address: '5511900000004' }, externalId: 'wamid.parts.3', content: '👍', parts: [{ type: 'reaction', messageId: 'wamid.parts.1', emoji: '👍', removed: false }] });
    graph.media.set('media-1', { bytes: PNG, mimeType: 'image/png' });
    await call('POST', '/v1/inbound', { channelId: whatsapp, from: { address: '5511900000004' }, externalId: 'wamid.parts.4', content: 'Receita', parts: [{ type: 'image', mediaId: 'media-1', mimeType: 'image/png', caption: 'Receita' }] });
    await call('POST', `/v1/conversations/${id}/messages`, { role: 'assistant', content: '', parts: [{ type: 'template', name: 'appointment_reminder', language: 'pt_BR' }] });
    await open(`#/conversations/${id}`, 'Davi');
    await page.locator('.part.location').filter({ hasText: 'Clínica Centro' }).getByRole('link', { name: '-23.55052, -46.63331' }).waitFor({ timeout: LONG });
    await page.locator('.part.reply').filter({ hasText: 'Chose “Manhã”' }).waitFor({ timeout: LONG });
    await page.locator('.part.reaction').filter({ hasText: 'Reacted 👍' }).waitFor({ timeout: LONG });
    await page.locator('.part.template').filter({ hasText: 'appointment_reminder' }).waitFor({ timeout: LONG });
    // An image through the media endpoint (the provider's file, fetched with the channel's token), on request.
    await page.getByRole('button', { name: 'Show Receita' }).click();
    const image = page.getByRole('img', { name: 'Receita' });
    await image.waitFor({ timeout: LONG });
    await waitFor('the image decoded', async () => (await image.evaluate((img: HTMLImageElement) => img.naturalWidth)) === 1, LONG);
    // The bot's working memory changes: the panel follows, with its history.
    await call('PUT', `/v1/conversations/${id}/state`, { state: 'choosing_doctor', data: { patient: 'Davi' }, expectedVersion: 0 });
    await page.getByTestId('state').filter({ hasText: 'choosing_doctor' }).waitFor({ timeout: LONG });
    await page.getByRole('table', { name: 'Slots' }).getByText('Davi').waitFor({ timeout: LONG });
    await page.locator('.history li').filter({ hasText: 'choosing_doctor' }).waitFor({ timeout: LONG });
    // Close and reopen through the page; another's change shows too.
    await page.getByRole('button', { name: 'Close' }).click();
    await page.getByTestId('status').filter({ hasText: 'closed' }).waitFor({ timeout: LONG });
    expect((await call('GET', `/v1/conversations/${id}`)).status).toBe('closed');
    await page.getByRole('button', { name: 'Reopen' }).click();
    await page.getByTestId('status').filter({ hasText: 'open' }).waitFor({ timeout: LONG });
    await call('PATCH', `/v1/conversations/${id}`, { status: 'waiting' });
    await page.getByTestId('status').filter({ hasText: 'waiting' }).waitFor({ timeout: LONG });
    // Into the trash: back to the inbox, where it is gone.
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Move to trash' }).click();
    await page.getByRole('heading', { level: 1, name: 'Inbox' }).waitFor({ timeout: LONG });
    await rows().filter({ hasText: 'Bruna' }).waitFor({ timeout: LONG });
    expect(await rows().filter({ hasText: 'Davi' }).count()).toBe(0);
    expect((await call('GET', '/v1/trash')).data.map((t: { conversation: { id: string } }) => t.conversation.id)).toContain(id);
    // Restored elsewhere while the inbox is open: its row comes back live, from the restore's own event.
    await call('POST', `/v1/trash/${id}/restore`);
    await rows().filter({ hasText: 'Davi' }).waitFor({ timeout: LONG });
  });

  it('pauses and resumes an agent, filters the inbox by agent, and links a thread to the conversation before it', async () => {
    const agent = await call('POST', '/v1/agents', { name: 'receptionist', model: 'openai:gpt-4o-mini', instructions: 'Book appointments.' });
    const chat = await call('POST', '/v1/conversations', { title: 'Agent chat', agentId: agent.id });
    await open('#/inbox', 'Inbox');
    await page.getByLabel('Agent').selectOption({ label: 'receptionist' });
    await waitFor('only the agent conversation', async () => (await rows().count()) === 1 && (await rows().first().textContent())!.includes('Agent chat'), LONG);
    await rows().first().click();
    await page.getByRole('heading', { level: 1, name: 'Agent chat' }).waitFor({ timeout: LONG });
    await page.getByRole('button', { name: 'Pause the agent' }).click();
    await page.getByRole('button', { name: 'Resume the agent' }).waitFor({ timeout: LONG });
    expect((await call('GET', `/v1/conversations/${chat.id}`)).agentPaused).toBe(true);
    await page.getByRole('button', { name: 'Resume the agent' }).click();
    await page.getByRole('button', { name: 'Pause the agent' }).waitFor({ timeout: LONG });
    expect((await call('GET', `/v1/conversations/${chat.id}`)).agentPaused).toBe(false);
    // A closed conversation outside the reopen window: the next message starts one linked to it.
    await call('PATCH', `/v1/channels/${quiet}`, { config: { reopenWindowSeconds: 0 } }, ADMIN_KEY);
    const first = (await call('GET', `/v1/conversations?channelId=${quiet}`)).data[0];
    await call('PATCH', `/v1/conversations/${first.id}`, { status: 'closed' });
    const second = (await inbound(quiet, '5511900000001', 'Carla', 'Voltei')).conversation;
    expect(second.previousConversationId).toBe(first.id);
    await open(`#/conversations/${second.id}`, 'Carla');
    await page.getByRole('link', { name: '← Previous conversation' }).click();
    await page.getByText('Alguém aí?').waitFor({ timeout: LONG });
    await page.getByRole('link', { name: 'Next conversation →' }).click();
    await page.getByText('Voltei').waitFor({ timeout: LONG });
  });

  it('resumes the live stream after the server restarts, missing nothing written while it was away', async () => {
    await open('#/inbox', 'Inbox');
    await page.locator('.live-live').waitFor({ timeout: LONG });
    await page.evaluate(() => { (window as unknown as { notReloaded: boolean }).notReloaded = true; });
    const port = new URL(server.url).port;
    serverDown = true;
    await server.stop();
    await page.locator('.live-connecting, .live-down').first().waitFor({ timeout: LONG }); // the header says so
    // Written while no server runs: into the database itself.
    const store = await openStore({ url: `sqlite:${join(dir, 'colloquy.db')}` });
    await store.tenant('clinic').ingest({ channelId: whatsapp, from: { address: '5511900000009', name: 'Gabi' }, externalId: 'wamid.offline', content: 'Vocês abrem sábado?' });
    await store.close();
    server = await serve(port);
    await rows().filter({ hasText: 'Gabi' }).waitFor({ timeout: 60_000 });
    expect(await rows().filter({ hasText: 'Gabi' }).count()).toBe(1);
    await page.locator('.live-live').waitFor({ timeout: LONG });
    serverDown = false;
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
  });

  it('shows a channel going stale on the channels page and as an alert', async () => {
    await open('#/channels', 'Channels');
    await page.locator(`[data-channel="${quiet}"] [data-testid="health"]`).filter({ hasText: 'stale' }).waitFor({ timeout: LONG });
    expect(await page.locator(`[data-channel="${whatsapp}"] [data-testid="health"]`).textContent()).toBe('ok');
    await page.locator(`[data-channel="${whatsapp}"] canvas`).first().waitFor({ timeout: LONG });
    await accessible('the channels page');
    await shot('channels');
    const endpoint = await call('POST', '/v1/webhooks', { url: `${receiver.url}/hook`, events: ['conversation.*'], description: 'CRM' });
    for (const title of ['Ana (retorno)', 'Ana (convênio)']) await call('PATCH', `/v1/conversations/${ana}`, { title });
    const updates = () => receiver.requests.filter((r) => r.payload.type === 'conversation.updated' && r.status === 200);
    await waitFor('two deliveries', () => updates().length >= 2, LONG);
    const [older, newer] = updates().map((r) => r.id);
    await open('#/alerts', 'Alerts and webhooks');
    // Replay after the older one: the newer is delivered again, with its webhook-id (receivers dedup on it).
    const deliveries = page.getByRole('table', { name: 'Recent deliveries' });
    await deliveries.getByRole('row').filter({ hasText: 'conversation.updated' }).nth(1).waitFor({ timeout: LONG });
    page.once('dialog', (dialog) => void dialog.accept());
    await deliveries.getByRole('row').filter({ hasText: 'conversation.updated' }).nth(1).getByRole('button', { name: 'Replay after this' }).click();
    await page.getByRole('status').filter({ hasText: 'Replay started.' }).waitFor({ timeout: LONG });
    await waitFor('the newer event delivered again', () => receiver.requests.filter((r) => r.id === newer).length >= 2, LONG);
    expect(receiver.requests.filter((r) => r.id === older)).toHaveLength(1);
    await page.getByRole('button', { name: 'Send a test event' }).click();
    await page.getByRole('status').filter({ hasText: 'Test event sent.' }).waitFor({ timeout: LONG });
    await page.getByRole('table', { name: 'Recent deliveries' }).getByText('webhook.test').waitFor({ timeout: LONG });
    expect(receiver.requests.some((r) => r.payload.type === 'webhook.test')).toBe(true);
    expect(endpoint.secret).toMatch(/^whsec_/);
    await page.locator('[data-rule="channel.stale"]').filter({ hasText: 'Channel "Night line" (whatsapp) is stale' }).waitFor({ timeout: LONG });
    await accessible('the alerts page');
    await shot('alerts');
  });

  it("shows an agent's tokens and cost per model call in its conversation", async () => {
    await open('#/inbox', 'Inbox');
    await rows().filter({ hasText: 'Agent playground' }).click();
    await page.locator('li.msg.role-assistant .usage-line').filter({ hasText: '1,200 in · 300 out · openai:gpt-4o-mini' }).waitFor({ timeout: LONG });
    await page.getByText('1 model call · 1,500 tokens').waitFor({ timeout: LONG });
  });

  it('draws the usage chart against the budget, the days over it marked', async () => {
    await call('PUT', '/v1/budgets/tenant', { dailyTokens: 1000 });
    await open('#/usage', 'Usage');
    await page.getByText('budget exceeded days: 1').waitFor({ timeout: LONG });
    const plot = page.getByRole('img', { name: /^Tokens per day/ });
    await plot.locator('canvas').waitFor({ timeout: LONG });
    expect(await plot.getAttribute('aria-label')).toContain('tokens 1500');
    // Something was drawn: the canvas has painted pixels.
    const painted = await plot.locator('canvas').evaluate((canvas: HTMLCanvasElement) => {
      const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
      let n = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) n++;
      return n;
    });
    expect(painted).toBeGreaterThan(100);
    await page.getByRole('table', { name: /By model/ }).getByText('openai:gpt-4o-mini').waitFor({ timeout: LONG });
    await accessible('the usage page');
    await shot('usage');
  });

  it('shows the system page with the version', async () => {
    await open('#/system', 'System');
    await page.getByTestId('version').filter({ hasText: /^\d+\.\d+\.\d+/ }).waitFor({ timeout: LONG });
    await accessible('the system page');
    await shot('system');
  });

  it('lets the admin key pick the tenant', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API key').fill(ADMIN_KEY);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Pick a tenant' }).waitFor({ timeout: LONG });
    await accessible('the tenant picker');
    await page.getByRole('button', { name: 'clinic' }).click();
    await page.getByRole('link', { name: 'Inbox' }).click();
    await rows().filter({ hasText: 'Bruna' }).waitFor({ timeout: LONG }).catch(async (error) => {
      await shot('admin-failed');
      throw error;
    });
  });

  it('opens without signing in on a loopback server without keys', async () => {
    const open = await startServer(`sqlite:${join(dir, 'open.db')}`, ['--dashboard-dir', join(dir, 'web')]);
    try {
      await page.goto(`${open.url}/`);
      await page.getByRole('heading', { level: 1, name: 'Inbox' }).waitFor({ timeout: LONG });
      await page.getByText('No conversation here yet.').waitFor({ timeout: LONG });
      expect(await page.getByRole('button', { name: 'Sign out' }).count()).toBe(0);
    } finally {
      await page.goto('about:blank');
      await open.stop();
    }
  });

  it('wrote no console error and threw nothing on any page', () => {
    expect(problems).toEqual([]);
  });
});
