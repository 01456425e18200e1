import { jsonSchema, tool, type ToolSet } from 'ai';
import type { JsonObject } from '../domain/entities.js';
import { isColloquyError } from '../domain/errors.js';
import type { Store } from '../store/store.js';

interface UpdateInput {
  state?: string | null;
  data?: JsonObject;
  replaceData?: boolean;
}

/**
 * The `update_state` tool: the model writes the conversation's working memory (its state and data slots) with
 * compare-and-set. A write that loses a race (someone wrote in between) is retried once on the fresh state; a second
 * loss is reported to the model, which sees the current state and may try again.
 */
export function memoryTools(store: Store, conversationId: string): ToolSet {
  return {
    update_state: tool({
      description: "Update this conversation's working memory: set `state` (a short name of where the conversation is, e.g. \"awaiting_date\") and/or merge `data` (slots such as the customer's name or the chosen date; a null value removes a slot). Use it whenever you learn something to remember.",
      inputSchema: jsonSchema<UpdateInput>({
        type: 'object',
        properties: {
          state: { type: ['string', 'null'], description: 'The new state; null clears it; leave out to keep it.' },
          data: { type: 'object', additionalProperties: true, description: 'Slots to set (merged into the current data).' },
          replaceData: { type: 'boolean', description: 'Replace all data instead of merging. Default false.' },
        },
        additionalProperties: false,
      }),
      execute: async (input) => {
        for (let attempt = 0; ; attempt++) {
          const current = await store.state.get(conversationId);
          const data: JsonObject = input.replaceData ? {} : { ...current.data };
          for (const [k, v] of Object.entries(input.data ?? {})) {
            if (v === null) delete data[k];
            else data[k] = v;
          }
          try {
            const written = await store.state.set(conversationId, {
              ...(input.state !== undefined ? { state: input.state } : {}), data, expectedVersion: current.version,
            });
            return { ok: true, state: written.state, data: written.data, version: written.version };
          } catch (error) {
            if (!isColloquyError(error, 'version_mismatch') || attempt >= 1) {
              const fresh = await store.state.get(conversationId).catch(() => current);
              return { ok: false, error: isColloquyError(error, 'version_mismatch') ? 'The memory changed while you wrote it; this is the current memory: decide again and retry.' : (error as Error).message, state: fresh.state, data: fresh.data };
            }
          }
        }
      },
    }),
  };
}
