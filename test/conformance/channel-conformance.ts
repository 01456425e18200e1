import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeliveryInvalid, SendFailure, type ChannelDriver, type ChannelSettings, type Delivery, type WebhookRequest } from '../../src/channels/channel.js';

/**
 * The channel contract, written once: every kind runs it against its recorded fixtures (`test/fixtures/<kind>/`).
 * A kind supplies how a genuine request is authenticated, and its settings pointed at a local server.
 */
export interface ChannelTarget {
  driver: ChannelDriver;
  /** Settings with every secret the kind needs; `baseUrl` is the local server standing in for the provider. */
  settings(baseUrl: string): ChannelSettings;
  /** Headers that make a genuine request for this body, and headers with a wrong credential. */
  authenticate(body: Buffer, settings: ChannelSettings): { good: Record<string, string>; wrong: Record<string, string> };
  /** The secret whose absence means the channel can verify nothing. */
  verifySecret: string;
  /** Fixture deliveries: the raw body and the message external ids it carries. */
  deliveries: Array<{ name: string; body: Buffer; externalIds: string[] }>;
  /** `send-answers.json` of the kind. */
  answers: URL;
}

export function channelConformance(target: ChannelTarget): void {
  const { driver } = target;
  describe(`channel conformance: ${driver.kind}`, () => {
    let answer: { status: number; body: unknown } = { status: 200, body: {} };
    let baseUrl = '';
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(answer.status, { 'content-type': typeof answer.body === 'string' ? 'text/html' : 'application/json' });
        res.end(typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body));
      });
    });
    beforeAll(async () => {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const answers = JSON.parse(readFileSync(target.answers, 'utf8')) as {
      ok: { status: number; body: unknown }; externalId: string;
      errors: Array<{ status: number; body: unknown; kind: string; code: string; tokenError?: boolean; retryAfterMs?: number }>;
    };

    it('verifies a genuine delivery, and refuses a missing or wrong credential or a channel without its secret', () => {
      const settings = target.settings(baseUrl);
      const body = target.deliveries[0]!.body;
      const { good, wrong } = target.authenticate(body, settings);
      const request = (headers: Record<string, string>, b = body): WebhookRequest => ({ headers, body: b });
      expect(driver.verify(request(good), settings)).toBe('ok');
      expect(driver.verify(request({}), settings)).toBe('missing');
      expect(driver.verify(request(wrong), settings)).toBe('invalid');
      const { [target.verifySecret]: _gone, ...rest } = settings.secrets;
      expect(driver.verify(request(good), { ...settings, secrets: rest })).toBe('not_configured');
      expect(driver.missing(settings)).toEqual([]);
      expect(driver.missing({ ...settings, secrets: rest })).toContain(`secrets.${target.verifySecret}`);
    });

    it('parses every fixture delivery into messages with their external ids, in ms, never dropping one', () => {
      for (const d of target.deliveries) {
        const delivery: Delivery = driver.parse(d.body);
        expect(delivery.messages.map((m) => m.externalId), d.name).toEqual(d.externalIds);
        for (const m of delivery.messages) {
          expect(m.timestamp, d.name).toBeGreaterThan(1e12);
          expect(m.from.address, d.name).toMatch(/^-?\d+$/);
          expect(Array.isArray(m.parts) && m.parts.length > 0, d.name).toBe(true);
          expect(typeof m.content).toBe('string');
        }
      }
    });

    it('refuses a body that is not a notification of the provider', () => {
      for (const junk of ['not json', '[]', '{"hello":"world"}', 'null']) expect(() => driver.parse(Buffer.from(junk)), junk).toThrow(DeliveryInvalid);
    });

    it("sends, answering the provider's id", async () => {
      answer = answers.ok;
      const sent = await driver.prepare({ messageId: 'm1', recipient: '123456789', content: 'oi', parts: null }, target.settings(baseUrl))(5_000);
      expect(sent.externalId).toBe(answers.externalId);
    });

    it('classifies every recorded error answer: retry only when the provider did not take the message', async () => {
      for (const e of answers.errors) {
        answer = e;
        const failure = await driver.prepare({ messageId: 'm1', recipient: '123456789', content: 'oi', parts: null }, target.settings(baseUrl))(5_000)
          .then(() => undefined, (error: unknown) => error);
        expect(failure, e.code).toBeInstanceOf(SendFailure);
        expect({ kind: (failure as SendFailure).kind, code: (failure as SendFailure).code }, JSON.stringify(e.body)).toEqual({ kind: e.kind, code: e.code });
        expect((failure as SendFailure).extra.tokenError === true, e.code).toBe(e.tokenError === true);
        if (e.retryAfterMs) expect((failure as SendFailure).extra.retryAfterMs).toBe(e.retryAfterMs);
      }
    });

    it('builds a message with odd parts, or refuses it as final before anything is sent: never a raw error', () => {
      const bad = { messageId: 'm1', recipient: '1', content: 'x', parts: [{ type: 'buttons', buttons: { not: 'a list' } }, { type: 'template', name: 'x', language: 'en' }, { type: 'image', url: 'https://e.x/p.png' }] as never };
      // Either it builds (the kind ignores what it does not send) or it refuses, final: never a request that fails midway.
      try {
        driver.prepare(bad, target.settings(baseUrl));
      } catch (error) {
        expect(error).toBeInstanceOf(SendFailure);
        expect((error as SendFailure)).toMatchObject({ kind: 'final', code: 'invalid_message' });
      }
    });

    it('retries a connection refused before anything was sent; a timeout after sending is ambiguous', async () => {
      const free = createServer();
      await new Promise<void>((resolve) => free.listen(0, '127.0.0.1', resolve));
      const port = (free.address() as AddressInfo).port;
      await new Promise((resolve) => free.close(resolve));
      const closed = target.settings(`http://127.0.0.1:${port}`);
      const refused = await driver.prepare({ messageId: 'm1', recipient: '1', content: 'x', parts: null }, closed)(2_000).catch((e: unknown) => e);
      expect((refused as SendFailure).kind).toBe('retry');
      const silent = createServer(() => {});
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      try {
        const timedOut = await driver.prepare({ messageId: 'm1', recipient: '1', content: 'x', parts: null }, target.settings(`http://127.0.0.1:${(silent.address() as AddressInfo).port}`))(300).catch((e: unknown) => e);
        expect((timedOut as SendFailure)).toMatchObject({ kind: 'ambiguous', code: 'timeout' });
      } finally {
        silent.closeAllConnections();
        await new Promise((resolve) => silent.close(resolve));
      }
    });
  });
}
