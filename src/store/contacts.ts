import type { Contact, ContactExport, Handle, Page } from '../domain/entities.js';
import { ContactListSchema, ContactUpsertSchema, type ContactListOptions, type ContactUpsert } from '../domain/inputs.js';
import { isId, newId } from '../domain/ids.js';
import { ColloquyError } from '../domain/errors.js';
import { HandleSchema } from '../domain/entities.js';
import { validate } from '../domain/validate.js';
import { normalizeAddress } from '../domain/handles.js';
import { cacheKey, erased, touched } from './cache-keys.js';
import { byId, paged } from './cursor.js';
import type { Scope } from './scope.js';

export interface ContactsApi {
  /** Creates the contact of `handle`, or updates the name/metadata given; returns it. */
  upsert(input: ContactUpsert): Promise<Contact>;
  get(id: string): Promise<Contact | null>;
  /** The contacts of these ids (at most 200) that exist, in no given order; malformed ids find nothing. */
  many(ids: readonly string[]): Promise<Contact[]>;
  /** Oldest first, `limit` 1–200 (default 50); `q`: those whose name or a handle's address contains it (any case). */
  list(options?: ContactListOptions): Promise<Page<Contact>>;
  /** The address is normalised as on every entry (`+55 11 9…` finds `55119…`); one that cannot be of its kind finds nothing. */
  findByHandle(handle: Handle): Promise<Contact | null>;
  /** Deletes the contact and everything of theirs (conversations, messages, state, events). False if missing. */
  erase(id: string): Promise<boolean>;
  /** Everything stored about the contact, as plain JSON. Null if missing. */
  export(id: string): Promise<ContactExport | null>;
}

export function contactsOf(s: Scope): ContactsApi {
  const { backend, tenant: t, hot } = s;
  return {
    async upsert(input) {
      const v = validate(ContactUpsertSchema, input, 'contact');
      const address = normalizeAddress(v.handle.channel, v.handle.address, '/handle/address');
      const contact = await backend.contacts.upsert(t, {
        id: newId(), channel: v.handle.channel, address, name: v.name, metadata: v.metadata, now: s.clock(),
      });
      await s.settle(() => [{ op: 'invalidate', keys: [cacheKey.handle(t, v.handle.channel, address)] }]);
      return contact;
    },
    async get(id) {
      return (await backend.contacts.get(t, s.id(id, 'contact'))) ?? null;
    },
    async many(ids) {
      if (ids.length > 200) throw new ColloquyError('invalid_argument', `At most 200 contacts at once (${ids.length} asked for): ask in pages.`);
      const wellFormed = [...new Set(ids.map((id) => id.toLowerCase()).filter(isId))];
      return backend.contacts.many(t, wellFormed);
    },
    async list(options = {}) {
      const { q, ...page } = validate(ContactListSchema, options, 'contact list options');
      return paged('contacts', page, byId, (p) => backend.contacts.list(t, p, q));
    },
    async findByHandle(handle) {
      const given = validate(HandleSchema, handle, 'handle');
      let address: string;
      try {
        address = normalizeAddress(given.channel, given.address);
      } catch {
        return null; // no contact can have an address that is not one of its kind
      }
      const v = { channel: given.channel, address };
      const load = () => backend.contacts.findByHandle(t, v);
      if (!hot) return (await load()) ?? null;
      // Contacts carry no version: the lease alone keeps a slow reader from installing an older one.
      return (await hot.read(cacheKey.handle(t, v.channel, v.address), async () => {
        const contact = await load();
        return contact && { version: 0, value: contact };
      })) ?? null;
    },
    async erase(id) {
      const gone = await backend.contacts.erase(t, s.id(id, 'contact'), s.clock());
      if (!gone) return false;
      await s.settle(() => [
        erased(t, gone.conversationIds),
        { op: 'invalidate', deleted: true, keys: gone.handles.map((h) => cacheKey.handle(t, h.channel, h.address)) },
        touched(t, gone.unlinked),
      ]);
      return s.changed(true);
    },
    async export(id) {
      return (await backend.contacts.export(t, s.id(id, 'contact'))) ?? null;
    },
  };
}
