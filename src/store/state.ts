import type { ConversationState } from '../domain/entities.js';
import { StateSetSchema, type StateSet } from '../domain/inputs.js';
import { validate } from '../domain/validate.js';
import { cacheKey } from './cache-keys.js';
import type { Scope } from './scope.js';

export interface StateApi {
  /** Version 0 and empty data until the first write. Throws `not_found`. */
  get(conversationId: string): Promise<ConversationState>;
  /** Compare-and-set: `expectedVersion` must equal the current version, else `version_mismatch` and nothing is written. */
  set(conversationId: string, input: StateSet): Promise<ConversationState>;
}

export function stateOf(s: Scope): StateApi {
  const { backend, tenant: t, hot } = s;
  return {
    async get(conversationId) {
      const key = s.id(conversationId, 'conversation');
      if (!hot) return s.found(await backend.states.get(t, key), 'conversation', key);
      return s.found(await hot.read(cacheKey.state(t, key), async () => {
        const state = await backend.states.get(t, key);
        return state && { version: state.version, value: state };
      }), 'conversation', key);
    },
    async set(conversationId, input) {
      const key = s.id(conversationId, 'conversation');
      const v = validate(StateSetSchema, input, 'state');
      const result = s.found(await backend.states.set(t, key, { ...v, now: s.clock() }), 'conversation', key);
      await s.settle(() => [{ op: 'write', key: cacheKey.state(t, key), version: result.version, value: result }]);
      return s.changed(result);
    },
  };
}
