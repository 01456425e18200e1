import { createHash } from 'node:crypto';
import { ColloquyError, notFound } from '../domain/errors.js';
import { channelKey, configOf } from '../domain/channel-settings.js';
import type { Channel, Page } from '../domain/entities.js';
import { ChannelCreateSchema, ChannelUpdateSchema, type ChannelCreate, type ChannelUpdate, type PageOptions } from '../domain/inputs.js';
import { newId } from '../domain/ids.js';
import { validate } from '../domain/validate.js';
import { CONFIG_SCHEMAS, KNOWN_SECRETS } from '../domain/channel-config.js';
import type { ChannelKind, JsonObject } from '../domain/entities.js';
import { auditEntry } from './audit.js';
import { byId, paged } from './cursor.js';
import type { Scope } from './scope.js';
import { secretContext } from './secret-box.js';

export interface ChannelsApi {
  /**
   * `config` holds public settings (`reopenWindowSeconds` defaults to 86400, 24 h); `secrets` holds tokens and
   * app secrets, which are write-only: reads show only which are set (`secrets: { appSecret: true }`).
   */
  create(input: ChannelCreate): Promise<Channel>;
  /**
   * The channel this input describes, created if there is none: with an `idempotencyKey`, the one first created
   * with that key; without, the oldest of this kind with this name. A channel found is answered as it is (its
   * config and secrets are not changed: that is `update`); `created` says which happened. Racing calls create one.
   */
  ensure(input: ChannelCreate): Promise<{ channel: Channel; created: boolean }>;
  get(id: string): Promise<Channel | null>;
  /** Oldest first; `limit` 1–200, default 50. */
  list(options?: PageOptions): Promise<Page<Channel>>;
  /** Renames; merges `config` (a key set to null is removed); sets secrets, or removes one given as null. Throws `not_found`. */
  update(id: string, patch: ChannelUpdate): Promise<Channel>;
}

/**
 * What a create asked for, as a hash: kind, name, config and which secrets (their values stay out of it, so
 * that the hash reveals nothing of them).
 */
const hashOf = (v: ChannelCreate): string => createHash('sha256')
  .update(JSON.stringify([v.kind, v.name, canonical(configOf(v.config)), Object.keys(v.secrets ?? {}).sort()])).digest('base64url');

/** A JSON value with its object keys sorted, so that equal values hash alike. */
const canonical = (value: unknown): unknown => (Array.isArray(value) ? value.map(canonical)
  : value && typeof value === 'object' ? Object.fromEntries(Object.keys(value).sort().map((k) => [k, canonical((value as Record<string, unknown>)[k])])) : value);

/** A kind's own rules for config (and, for WhatsApp and Telegram, secret names), on what a create or update gives. */
function checkSettings(kind: ChannelKind, config: JsonObject | undefined, secrets: Record<string, unknown> | undefined, what: string): void {
  if (config) validate(CONFIG_SCHEMAS[kind], Object.fromEntries(Object.entries(config).filter(([, v]) => v !== null)), `${kind} ${what} config`);
  const known = KNOWN_SECRETS[kind];
  const unknown = known && Object.keys(secrets ?? {}).find((name) => !known.includes(name));
  if (unknown) {
    throw new ColloquyError('invalid_argument', `A ${kind} channel has no secret "${unknown}": its secrets are ${known!.join(', ')}.`, { errors: [{ path: `/secrets/${unknown}`, message: `is not one of ${known!.join(', ')}` }] });
  }
}

export function channelsOf(s: Scope): ChannelsApi {
  const { backend, tenant: t } = s;
  const seal = async (channelId: string, secrets: Record<string, string | null>) => {
    if (Object.values(secrets).some((value) => value !== null)) await s.box.ready();
    return Object.fromEntries(Object.entries(secrets).map(([name, value]) => [name, value === null ? null : s.box.seal(value, secretContext(t, channelId, name))]));
  };
  // Which secrets a change sets and removes (never their values), for the audit log.
  const secretsAudit = (secrets: Record<string, string | null> | undefined) => {
    const names = Object.keys(secrets ?? {});
    if (names.length === 0) return undefined;
    return auditEntry(s, 'channel.secrets_changed', t, {
      set: names.filter((n) => secrets![n] !== null).sort(), removed: names.filter((n) => secrets![n] === null).sort(),
    });
  };
  /** An agent named in the config (it answers the channel) must exist. */
  const checkAgent = async (config: Record<string, unknown> | undefined) => {
    const agentId = typeof config?.agentId === 'string' ? config.agentId.toLowerCase() : undefined;
    if (agentId && !(await backend.agents.get(t, agentId))) throw notFound('agent', agentId);
  };
  const toNew = async (v: ChannelCreate) => {
    const id = newId();
    return {
      id, kind: v.kind, name: v.name, config: configOf(v.config), secrets: (await seal(id, v.secrets ?? {})) as Record<string, string>, now: s.clock(),
      audit: secretsAudit(v.secrets),
    };
  };
  const ensure = async (input: ChannelCreate) => {
    const v = validate(ChannelCreateSchema, input, 'channel');
    checkSettings(v.kind, v.config, v.secrets, 'channel');
    await checkAgent(v.config);
    if (v.idempotencyKey === undefined) {
      const named = await backend.channels.findByName(t, v.kind, v.name);
      if (named) return { channel: named, created: false };
    }
    // Without a key of the caller's, the name is the key, so that two racing ensures create one channel.
    if (v.idempotencyKey === undefined) {
      const { channel, created } = await backend.channels.createOnce(t, { ...(await toNew(v)), idempotencyKey: channelKey.byName(v.kind, v.name) });
      return { channel, created };
    }
    const requestHash = hashOf(v);
    const { channel, created, requestHash: first } = await backend.channels.createOnce(t, { ...(await toNew(v)), idempotencyKey: channelKey.caller(v.idempotencyKey), requestHash });
    if (!created && first !== null && first !== requestHash) {
      throw new ColloquyError('idempotency_key_reused', `The idempotency key "${v.idempotencyKey}" was first used to create another channel (${channel.id}); a retry must repeat the request exactly, and a new channel needs a new key.`, { idempotencyKey: v.idempotencyKey, channelId: channel.id });
    }
    return { channel, created };
  };
  return {
    async create(input) {
      const v = validate(ChannelCreateSchema, input, 'channel');
      checkSettings(v.kind, v.config, v.secrets, 'channel');
      if (v.idempotencyKey !== undefined) return (await ensure(v)).channel;
      await checkAgent(v.config);
      return backend.channels.create(t, await toNew(v));
    },
    ensure,
    async get(id) {
      return (await backend.channels.get(t, s.id(id, 'channel'))) ?? null;
    },
    list: (options = {}) => paged('channels', options, byId, (page) => backend.channels.list(t, page)),
    async update(id, patch) {
      const key = s.id(id, 'channel');
      const v = validate(ChannelUpdateSchema, patch, 'channel update');
      if (v.config || v.secrets) {
        const kind = s.found(await s.kindOf(key), 'channel', key);
        checkSettings(kind, v.config, v.secrets, 'channel update');
        await checkAgent(v.config);
      }
      return s.found(await backend.channels.update(t, key, {
        name: v.name, config: v.config, secrets: v.secrets && (await seal(key, v.secrets)), now: s.clock(), audit: secretsAudit(v.secrets),
      }), 'channel', key);
    },
  };
}
