import { problemsOf } from '../alerts/self-check.js';
import { connectRedis } from '../cache/redis/redis-client.js';
import { isColloquyError } from '../domain/errors.js';
import { openStore } from '../store/open-store.js';
import type { Store } from '../store/store.js';
import { createChannelRuntime } from '../channels/channel-runtime.js';
import { channelHealth } from '../channels/channel-health.js';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export const redact = (url: string): string => url.replace(/\/\/([^:@/,]*):[^@/,]*@/g, '//$1:***@');

export interface DoctorOptions {
  secretKey?: string | undefined;
  /** The Redis a fleet shares, to check it answers (none: reported as not configured). */
  redis?: string | undefined;
}

/**
 * Checks a deployment end to end; all checks pass only when everything is well. Opens the database as it is:
 * nothing is migrated, and a database that does not exist is reported, never created.
 */
export async function doctor(url: string, options: DoctorOptions = {}): Promise<{ ok: boolean; checks: Check[] }> {
  const checks: Check[] = [];
  let store: Store | undefined;
  try {
    store = await openStore({ url, migrate: false, create: false, secretKey: options.secretKey });
    checks.push({ name: 'schema', ok: true, detail: `${redact(url)} is at this version of Colloquy` });
  } catch (error) {
    const schema = isColloquyError(error, 'schema_outdated') || isColloquyError(error, 'schema_too_new');
    checks.push({ name: schema ? 'schema' : 'database', ok: false, detail: `${redact(url)}: ${(error as Error).message}` });
    return { ok: false, checks };
  }
  try {
    const health = await store.health();
    checks.push({ name: 'database', ok: true, detail: `${health.dialect} at ${redact(url)} answers in ${health.latencyMs} ms` });
    const d = await store.diagnose();
    const { open, waiting, closed } = d.conversationsByStatus;
    checks.push({ name: 'contents', ok: true, detail: `${open} open, ${waiting} waiting, ${closed} closed conversations; ${d.messages} messages` });
    checks.push({
      name: 'merges', ok: true,
      detail: d.merges.count ? `${d.merges.count} contact(s) merged into another that shared a handle (last ${d.merges.lastAt}); their ids still find the survivor` : 'no contact merged',
    });
    const problems = problemsOf({ ...d, warnings: [] }); // warnings: their own check below
    checks.push({
      name: 'integrity',
      ok: problems.length === 0,
      detail: problems.length ? problems.join('; ') : 'seq gapless everywhere, no duplicate external ids, at most one open conversation per contact and channel',
    });
    checks.push({ name: 'events', ok: d.warnings.length === 0, detail: d.warnings.length ? d.warnings.join('; ') : 'nothing holds back delivery' });
    checks.push(...(await channelChecks(store)));
    checks.push(await redisCheck(options.redis));
  } catch (error) {
    checks.push({ name: 'database', ok: false, detail: (error as Error).message });
  } finally {
    await store.close();
  }
  return { ok: checks.every((c) => c.ok), checks };
}

/** Each channel's health, judged without recording anything: a failing channel fails the doctor; stale or not configured ones are named. */
async function channelChecks(store: Store): Promise<Check[]> {
  const channels = createChannelRuntime({ store });
  const checks: Check[] = [];
  const notes: string[] = [];
  let count = 0;
  try {
    let after: string | undefined;
    for (;;) {
      const page = await channels.ops.allChannels(after, 200);
      for (const { tenant, channel } of page) {
        count++;
        const health = await channelHealth(channels, channel, false);
        const name = `channel ${tenant}/${channel.name} (${channel.kind}, ${channel.id})`;
        if (health.status === 'failing') checks.push({ name: 'channel', ok: false, detail: `${name} is failing: ${health.reasons.join('; ')}` });
        else if (health.status !== 'ok') notes.push(`${name} is ${health.status}: ${health.reasons.join('; ')}`);
      }
      if (page.length < 200) break;
      after = page.at(-1)!.channel.id;
    }
  } finally {
    await channels.close();
  }
  if (!checks.length) checks.push({ name: 'channels', ok: true, detail: count === 0 ? 'no channel' : notes.length ? `${count} channel(s), none failing; ${notes.join('; ')}` : `${count} channel(s), all ok` });
  return checks;
}

/** Whether the fleet's Redis answers, within 2 s. */
async function redisCheck(url: string | undefined): Promise<Check> {
  if (!url) return { name: 'redis', ok: true, detail: 'not configured (the hot tier is optional; pass --redis or COLLOQUY_REDIS_URL to check one)' };
  const client = connectRedis(url, { timeoutMs: 2_000 });
  client.on('error', () => {});
  try {
    const started = performance.now();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no connection within 2 s')), 2_000);
      client.once('ready', () => { clearTimeout(timer); resolve(); });
      client.once('error', (error: Error) => { clearTimeout(timer); reject(error); });
    });
    await client.ping();
    return { name: 'redis', ok: true, detail: `${redact(url)} answers in ${Math.round((performance.now() - started) * 10) / 10} ms` };
  } catch (error) {
    return { name: 'redis', ok: false, detail: `${redact(url)} does not answer: ${(error as Error).message}` };
  } finally {
    client.disconnect();
  }
}
