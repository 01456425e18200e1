import { expect } from 'vitest';
import { ColloquyError, type Channel, type Contact, type Conversation, type Store } from '../../../src/index.js';

export const MINUTE = 60_000;
export const HOUR = 3_600_000;

/** What every file of cases gets: the target's stores and a fresh tenant with a channel, contact and conversation. */
export interface Harness {
  /** The first store instance (a tenant of it: `base().tenant(id)`). */
  base(): Store;
  /** A second instance on the same database, when the target has one: races run across both. */
  second(): Store | undefined;
  /** A new tenant of the first instance: every test starts from nothing. */
  fresh(): Store;
  /** A WhatsApp channel, a contact on it and an open conversation between them. */
  setup(store: Store, config?: { reopenWindowSeconds?: number }): Promise<{ channel: Channel; contact: Contact; conversation: Conversation }>;
}

/** The call fails with a ColloquyError of `code`, and, when given, exactly these `details`. */
export async function expectError(promise: Promise<unknown>, code: string, details?: Record<string, unknown>): Promise<ColloquyError> {
  const error = await promise.then(
    () => { throw new Error(`expected a ColloquyError ${code}, but the call succeeded`); },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ColloquyError);
  expect((error as ColloquyError).code).toBe(code);
  if (details) expect((error as ColloquyError).details).toEqual(details);
  return error as ColloquyError;
}
