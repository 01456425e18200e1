import type { Agent, Page } from '../domain/entities.js';
import { newId } from '../domain/ids.js';
import { AgentCreateSchema, AgentUpdateSchema, type AgentCreate, type AgentUpdate, type PageOptions } from '../domain/inputs.js';
import { validate } from '../domain/validate.js';
import { cacheKey, touched } from './cache-keys.js';
import { paged } from './cursor.js';
import type { Scope } from './scope.js';

export interface AgentsApi {
  /** Throws `conflict` when the tenant has an agent of that name. */
  create(input: AgentCreate): Promise<Agent>;
  get(id: string): Promise<Agent | null>;
  /** By name; `limit` 1–200, default 50. */
  list(options?: PageOptions): Promise<Page<Agent>>;
  /** Throws `not_found`, or `conflict` for a name taken. */
  update(id: string, patch: AgentUpdate): Promise<Agent>;
  /** Conversations it answered lose their `agentId`. False if missing. */
  delete(id: string): Promise<boolean>;
}

const byName = {
  check: (parts: unknown[]) =>
    parts.length === 2 && typeof parts[0] === 'string' && typeof parts[1] === 'string' ? { name: parts[0], id: parts[1] } : undefined,
  of: (agent: Agent) => [agent.name, agent.id],
};

export function agentsOf(s: Scope): AgentsApi {
  const { backend, tenant: t, hot } = s;
  return {
    async create(input) {
      const v = validate(AgentCreateSchema, input, 'agent');
      return backend.agents.create(t, {
        id: newId(), name: v.name, instructions: v.instructions ?? '', model: v.model, params: v.params ?? {}, metadata: v.metadata ?? {}, now: s.clock(),
      });
    },
    async get(id) {
      const key = s.id(id, 'agent');
      if (!hot) return (await backend.agents.get(t, key)) ?? null;
      return (await hot.read(cacheKey.agent(t, key), async () => {
        const agent = await backend.agents.get(t, key);
        return agent && { version: 0, value: agent };
      })) ?? null;
    },
    list: (options = {}) => paged('agents', options, byName, (page) => backend.agents.list(t, page)),
    async update(id, patch) {
      const key = s.id(id, 'agent');
      const v = validate(AgentUpdateSchema, patch, 'agent update');
      const result = s.found(await backend.agents.update(t, key, { ...v, now: s.clock() }), 'agent', key);
      await s.settle(() => [{ op: 'invalidate', keys: [cacheKey.agent(t, key)] }]);
      return result;
    },
    async delete(id) {
      const key = s.id(id, 'agent');
      const deleted = await backend.agents.delete(t, key);
      if (!deleted) return false;
      await s.settle(() => [{ op: 'invalidate', deleted: true, keys: [cacheKey.agent(t, key)] }, touched(t, deleted.unlinked)]);
      return true;
    },
  };
}
