import type { ChannelConfig, JsonObject } from './entities.js';

/** A closed conversation active within this many seconds is reopened by a new inbound message. */
export const DEFAULT_REOPEN_WINDOW_SECONDS = 86_400;

/** A channel's config at creation: what was given, with the defaults filled in. */
export const configOf = (given: JsonObject | undefined): ChannelConfig => ({
  ...given,
  reopenWindowSeconds: (given?.reopenWindowSeconds as number | undefined) ?? DEFAULT_REOPEN_WINDOW_SECONDS,
});

/** PATCH semantics for config: the keys given replace the present ones, a key set to null is removed. */
export function mergeConfig(current: ChannelConfig, patch: JsonObject): ChannelConfig {
  const next: JsonObject = { ...current };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete next[key];
    else next[key] = value;
  }
  return configOf(next);
}

/** The same for secrets (values already sealed): given ones are set, null removes one, others stay. */
export function mergeSecrets(current: Record<string, string>, patch: Record<string, string | null>): Record<string, string> {
  const next = { ...current };
  for (const [name, value] of Object.entries(patch)) {
    if (value === null) delete next[name];
    else next[name] = value;
  }
  return next;
}

/** What reads show of secrets: which are set, never their values. */
export const secretFlags = (sealed: Record<string, string>): Record<string, boolean> =>
  Object.fromEntries(Object.keys(sealed).sort().map((name) => [name, true]));

/**
 * A channel's stored idempotency key is one of two kinds, so that neither can be mistaken for the other:
 * `key:<the caller's key>` (POST /v1/channels with Idempotency-Key) or `name:<kind>:<name>` (`channels.ensure`
 * by name, a key a rename frees).
 */
export const channelKey = {
  caller: (key: string) => `key:${key}`,
  byName: (kind: string, name: string) => `name:${kind}:${name}`,
  isByName: (stored: string | null | undefined) => stored?.startsWith('name:') ?? false,
};
