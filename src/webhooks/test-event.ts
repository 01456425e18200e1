import { newId } from '../domain/ids.js';
import type { Store } from '../store/store.js';
import { webhookOps } from '../store/webhook-ops.js';
import { postEvent, signer, type Poster, type PostResult } from './webhook-post.js';

/**
 * Sends a `webhook.test` event to one endpoint now, beside its cursor (the log and the endpoint's place in it are
 * untouched), signed like every delivery, and records the attempt. Undefined: no such endpoint.
 */
export async function sendTestEvent(store: Store, endpointId: string, poster: Poster): Promise<(PostResult & { eventId: string }) | undefined> {
  const ops = webhookOps(store);
  const endpoint = await ops.get(store.tenantId, endpointId);
  if (!endpoint) return undefined;
  const eventId = `test_${newId()}`;
  const now = ops.clock();
  const data = { endpointId: endpoint.id, message: 'A test event from Colloquy: this endpoint receives and verifies webhooks.' };
  const result = await postEvent(poster, endpoint.url, signer(ops.secrets(store.tenantId, endpoint)), { id: eventId, type: 'webhook.test', timestamp: new Date(now).toISOString(), data }, now);
  await ops.record(store.tenantId, endpoint.id, [{ eventId, eventType: 'webhook.test', attempt: 1, ok: result.ok, httpStatus: result.status, latencyMs: result.latencyMs, error: result.error, at: ops.clock() }]);
  return { ...result, eventId };
}
