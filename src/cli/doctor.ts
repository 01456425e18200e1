import { isColloquyError } from '../domain/errors.js';
import { openStore } from '../store/open-store.js';
import type { Store } from '../store/store.js';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

const redact = (url: string) => url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');

/** Checks a deployment end to end; all checks pass only when everything is well. */
export async function doctor(url: string, options: { secretKey?: string | undefined } = {}): Promise<{ ok: boolean; checks: Check[] }> {
  const checks: Check[] = [];
  let store: Store | undefined;
  try {
    store = await openStore({ url, migrate: false, secretKey: options.secretKey });
    checks.push({ name: 'schema', ok: true, detail: 'at this version of Colloquy' });
  } catch (error) {
    const schema = isColloquyError(error, 'schema_outdated') || isColloquyError(error, 'schema_too_new');
    checks.push({ name: schema ? 'schema' : 'database', ok: false, detail: (error as Error).message });
    return { ok: false, checks };
  }
  try {
    const health = await store.health();
    checks.push({ name: 'database', ok: true, detail: `${health.dialect} at ${redact(url)} answers in ${health.latencyMs} ms` });
    const d = await store.diagnose();
    const { open, waiting, closed } = d.conversationsByStatus;
    checks.push({ name: 'contents', ok: true, detail: `${open} open, ${waiting} waiting, ${closed} closed conversations; ${d.messages} messages` });
    const problems = [
      d.seqMismatches.length && `${d.seqMismatches.length} conversation(s) whose messages are not seq 1..lastSeq (first: ${d.seqMismatches[0]!.conversationId})`,
      d.duplicateExternalIds.length && `${d.duplicateExternalIds.length} external id(s) stored more than once`,
      d.doubleOpen && `${d.doubleOpen} contact/channel pair(s) with more than one open conversation`,
    ].filter(Boolean) as string[];
    checks.push({
      name: 'integrity',
      ok: problems.length === 0,
      detail: problems.length ? problems.join('; ') : 'seq gapless everywhere, no duplicate external ids, at most one open conversation per contact and channel',
    });
    checks.push({ name: 'events', ok: d.warnings.length === 0, detail: d.warnings.length ? d.warnings.join('; ') : 'nothing holds back delivery' });
    checks.push({ name: 'redis', ok: true, detail: 'not configured (the hot tier is optional)' });
  } catch (error) {
    checks.push({ name: 'database', ok: false, detail: (error as Error).message });
  } finally {
    await store.close();
  }
  return { ok: checks.every((c) => c.ok), checks };
}
