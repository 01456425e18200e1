import { signal } from '@preact/signals';

export type Route =
  | { page: 'inbox' } | { page: 'conversation'; id: string } | { page: 'channels' } | { page: 'usage' }
  | { page: 'alerts' } | { page: 'system' };

/** Hash routes (#/inbox, #/conversations/<id>, …): the server serves one file, and links work without it. */
export function parse(hash: string): Route {
  const [, page = 'inbox', id] = hash.replace(/^#/, '').split('/');
  if (page === 'conversations' && id) return { page: 'conversation', id: decodeURIComponent(id) };
  if (page === 'channels' || page === 'usage' || page === 'alerts' || page === 'system') return { page };
  return { page: 'inbox' };
}

export const route = signal<Route>(parse(location.hash));
addEventListener('hashchange', () => { route.value = parse(location.hash); });

export const go = (hash: string) => { location.hash = hash; };
