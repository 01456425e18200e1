import { secretContext } from './secret-box.js';
import { scopeOfStore, type Store } from './store.js';

/**
 * A channel's secrets in the clear, for the channel's own use (verifying a webhook, calling its provider).
 * Not part of the public API: no read of the library or the HTTP API returns secret values. Null for an unknown
 * channel; `unavailable` when they are encrypted and the store has no (or another) key.
 */
export async function channelSecrets(store: Store, channelId: string): Promise<Record<string, string> | null> {
  const s = scopeOfStore(store);
  const id = s.id(channelId, 'channel');
  const sealed = await s.backend.channels.secrets(s.tenant, id);
  if (!sealed) return null;
  return Object.fromEntries(Object.entries(sealed).map(([name, value]) => [name, s.box.open(value, secretContext(s.tenant, id, name))]));
}
