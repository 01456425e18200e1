import { api } from './api.js';
import type { Contact } from './types.js';

const known = new Map<string, Promise<Contact | null>>();

/** A contact, fetched once per page load (the inbox shows a name per row). */
export function contact(id: string): Promise<Contact | null> {
  let found = known.get(id);
  if (!found) {
    found = api<Contact>(`/v1/contacts/${id}`).catch(() => null);
    known.set(id, found);
  }
  return found;
}

export const displayName = (c: Pick<Contact, 'name' | 'handles'> | null | undefined): string =>
  c?.name ?? c?.handles[0]?.address ?? 'Unknown contact';

/** After an erasure or a merge: names are read again. */
export function forgetContacts(): void {
  known.clear();
}
