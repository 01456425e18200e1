import { afterAll, beforeAll, describe } from 'vitest';
import type { Store } from '../../src/index.js';
import { uniqueName } from '../helpers/services.js';
import { agentsCases } from './store/agents.js';
import type { Harness } from './store/harness.js';
import { channelsCases } from './store/channels.js';
import { contactsCases } from './store/contacts.js';
import { conversationsCases } from './store/conversations.js';
import { errorsCases } from './store/errors.js';
import { eventsCases } from './store/events.js';
import { handlesCases } from './store/handles.js';
import { ingestCases } from './store/ingest.js';
import { messagesCases } from './store/messages.js';
import { stateCases } from './store/state.js';
import { tenantsCases } from './store/tenants.js';
import { turnsCases } from './store/turns.js';
import { webhooksCases } from './store/webhooks.js';
import { alertsCases } from './store/alerts.js';
import { trashCases } from './store/trash.js';

/**
 * The store's behaviour, specified once: one file of cases per entity under `store/`. Every backend runs this
 * suite through a ten-line test file. Each test works in a fresh tenant of the target's database, so tests are
 * independent without new databases.
 */
export interface ConformanceTarget {
  /** A new store instance (its own connections) on the target's one database. */
  open(): Promise<Store>;
  /** Whether two open() stores share one database (so cross-instance races can be run). */
  readonly sharedAcrossInstances: boolean;
  cleanup(): Promise<void>;
}

export { expectError } from './store/harness.js';

const CASES = [contactsCases, handlesCases, channelsCases, conversationsCases, messagesCases, ingestCases, stateCases, agentsCases, turnsCases, webhooksCases, alertsCases, trashCases, eventsCases, tenantsCases, errorsCases];

export function storeConformance(name: string, makeTarget: () => Promise<ConformanceTarget | undefined>): void {
  describe(`store conformance: ${name}`, async () => {
    const target = await makeTarget();
    // Undefined only when the service is unreachable and COLLOQUY_REQUIRE_SERVICES is not set.
    describe.skipIf(!target)('', () => {
      let base: Store;
      let second: Store | undefined;
      beforeAll(async () => {
        base = await target!.open();
        if (target!.sharedAcrossInstances) second = await target!.open();
      });
      afterAll(async () => {
        await second?.close();
        await base?.close();
        await target?.cleanup();
      });
      const harness: Harness = {
        base: () => base,
        second: () => second,
        fresh: () => base.tenant(uniqueName('t')),
        async setup(store, config) {
          const channel = await store.channels.create({ kind: 'whatsapp', name: 'clinic', ...(config ? { config } : {}) });
          const contact = await store.contacts.upsert({ handle: { channel: 'whatsapp', address: '5511999999999' }, name: 'Ana' });
          const conversation = await store.conversations.create({ contactId: contact.id, channelId: channel.id });
          return { channel, contact, conversation };
        },
      };
      for (const cases of CASES) cases(harness);

    });
  });
}

