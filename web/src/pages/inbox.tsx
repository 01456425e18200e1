import { useEffect, useRef, useState } from 'preact/hooks';
import { all, api, agentsList, ApiError } from '../api.js';
import { contact, displayName, forgetContacts } from '../contacts.js';
import { ago } from '../format.js';
import { resyncs, subscribe, withoutRecord } from '../live.js';
import { newerConversation } from '../merge.js';
import { go } from '../route.js';
import { VirtualList } from '../parts/virtual-list.js';
import type { Agent, Channel, Contact, Conversation, Page } from '../types.js';

interface Filter { status?: string; channelId?: string; agentId?: string; contactId?: string }
/** A conversation of the list, with its contact when the list brought it (`include=contact`). */
type Row = Conversation & { contact?: Pick<Contact, 'id' | 'name' | 'handles'> | null };

const matches = (c: Row, f: Filter) =>
  (!f.status || c.status === f.status) && (!f.channelId || c.channelId === f.channelId)
  && (!f.agentId || c.agentId === f.agentId) && (!f.contactId || c.contactId === f.contactId);

/** Newest activity first; equal times by id, as the API orders them. */
const newerFirst = (a: Row, b: Row) =>
  b.lastActivityAt.localeCompare(a.lastActivityAt) || b.id.localeCompare(a.id);

/**
 * `changed` into the sorted rows: the newer copy kept, the contact the list brought kept, out if it left the filter
 * or was removed (a read that began before a deletion must not bring it back).
 */
function place(now: Row[], changed: Row, filter: Filter, more: boolean, removed: ReadonlySet<string>): Row[] {
  if (removed.has(changed.id)) return now;
  const before = now.find((r) => r.id === changed.id);
  let c = newerConversation(before, changed);
  if (c.contact === undefined && before?.contact !== undefined && before.contactId === c.contactId) c = { ...c, contact: before.contact };
  const rest = before ? now.filter((r) => r !== before) : now;
  if (!matches(c, filter)) return rest;
  const at = rest.findIndex((r) => newerFirst(c, r) < 0);
  // Older than every row loaded while more pages remain: a new one comes with its page, in its place; one already
  // listed stays (the next page starts after the last row read: dropped, it would never come back).
  if (at < 0) return more && !before ? rest : [...rest, c];
  return [...rest.slice(0, at), c, ...rest.slice(at)];
}

export function Inbox() {
  const [filter, setFilter] = useState<Filter>({});
  const [rows, setRows] = useState<Row[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [loadingMore, setLoadingMore] = useState(false);
  const [pageError, setPageError] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [selectedId, setSelectedId] = useState<string | null>(null);
  const [channels, setChannels] = useState<Channel[]>([]);
  const [agents, setAgents] = useState<Agent[]>([]);
  const [, setMinute] = useState(0);
  // What the live handlers read: the current filter, whether more pages remain, and which load is current.
  const live = useRef({ filter, more: false, generation: 0, removed: new Set<string>() });
  live.current.filter = filter;
  live.current.more = cursor !== null;

  useEffect(() => {
    all<Channel>('/v1/channels').then(setChannels, () => undefined);
    agentsList().then(setAgents, () => undefined);
    const timer = setInterval(() => setMinute((m) => m + 1), 30_000); // "3 minutes ago" keeps up
    return () => clearInterval(timer);
  }, []);

  useEffect(() => {
    const generation = ++live.current.generation;
    setLoading(true);
    setError(null);
    setPageError(null);
    setRows([]);
    setCursor(null); // while the first page is read, what arrives live is kept wherever it sorts
    api<Page<Row>>('/v1/conversations', { query: { ...filter, limit: 100, include: 'contact' } }).then((page) => {
      if (generation !== live.current.generation) return;
      // Events that arrived while the page was read are in `now`: merged, each conversation's newer copy kept.
      const { removed } = live.current;
      setRows((now) => now.reduce((list, c) => place(list, c, filter, page.nextCursor !== null, removed),
        page.data.filter((c) => !removed.has(c.id)).sort(newerFirst)));
      setCursor(page.nextCursor);
    }, (e: Error) => generation === live.current.generation && setError(e.message))
      .finally(() => generation === live.current.generation && setLoading(false));
  }, [filter, resyncs.value]);

  const more = () => {
    if (!cursor || loadingMore || pageError) return;
    const generation = live.current.generation;
    setLoadingMore(true);
    api<Page<Row>>('/v1/conversations', { query: { ...filter, limit: 200, cursor, include: 'contact' } }).then((page) => {
      if (generation !== live.current.generation) return; // the filter changed meanwhile
      setRows((now) => page.data.reduce((list, c) => place(list, c, filter, false, live.current.removed), now));
      setCursor(page.nextCursor);
    }, (e: Error) => generation === live.current.generation && setPageError(e.message))
      .finally(() => setLoadingMore(false));
  };

  // Live: a conversation that changed moves to its place (the top, for new activity), one that left the filter goes.
  useEffect(() => {
    const upsert = (c: Row) => setRows((now) => place(now, c, live.current.filter, live.current.more, live.current.removed));
    const drop = (ids: string[]) => {
      for (const id of ids) live.current.removed.add(id);
      setRows((now) => now.filter((r) => !ids.includes(r.id)));
    };
    const pending = new Set<string>();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const refresh = (id: string) => {
      pending.add(id);
      timer ??= setTimeout(() => {
        timer = undefined;
        const ids = [...pending];
        pending.clear();
        for (const cid of ids) {
          api<Conversation>(`/v1/conversations/${cid}`).then(upsert, (e) => { if (e instanceof ApiError && e.status === 404) drop([cid]); });
        }
      }, 50);
    };
    const off = subscribe((event) => {
      const data = event.data as Record<string, unknown>;
      if (event.type === 'contact.erased' || event.type === 'contact.merged') {
        // An erased person leaves the screen at once; a merge changes whose conversations these are.
        forgetContacts();
        if (event.type === 'contact.erased') drop(Array.isArray(data.conversationIds) ? (data.conversationIds as string[]) : []);
        // Read the list again; narrowed to a contact merged away, to the one that survived.
        else setFilter((f) => (f.contactId && f.contactId === data.mergedId && typeof data.survivorId === 'string' ? { ...f, contactId: data.survivorId } : { ...f }));
        return;
      }
      if (!event.conversationId) return;
      if (event.type === 'conversation.restored') live.current.removed.delete(event.conversationId);
      if (event.type === 'conversation.deleted' || withoutRecord(data)) drop([event.conversationId]);
      else if (event.type.startsWith('conversation.') && data.id === event.conversationId) upsert(data as unknown as Row);
      else if (event.type === 'message.created' || event.type.startsWith('conversation.')) refresh(event.conversationId);
    });
    return () => { off(); clearTimeout(timer); };
  }, []);

  const set = (patch: Filter) => setFilter((f) => {
    const next: Filter = { ...f, ...patch };
    for (const k of Object.keys(next) as (keyof Filter)[]) if (!next[k]) delete next[k];
    return next;
  });
  const open = (c: Row) => go(`#/conversations/${c.id}`);
  const channelName = (id: string | null) => channels.find((c) => c.id === id)?.name ?? (id ? 'channel' : 'API');
  const selectedIndex = selectedId === null ? (rows.length ? 0 : -1) : rows.findIndex((r) => r.id === selectedId);

  return (
    <section class="inbox">
      <h1>Inbox</h1>
      <div class="filters" role="search">
        <label>Status
          <select value={filter.status ?? ''} onChange={(e) => set({ status: e.currentTarget.value })}>
            <option value="">Any</option><option value="open">Open</option><option value="waiting">Waiting</option><option value="closed">Closed</option>
          </select>
        </label>
        <Choice label="Channel" value={filter.channelId} items={channels} onPick={(channelId) => set({ channelId })} />
        <Choice label="Agent" value={filter.agentId} items={agents} onPick={(agentId) => set({ agentId })} />
        <ContactSearch contactId={filter.contactId} onPick={(id) => set({ contactId: id })} />
      </div>
      {error && <p class="error" role="alert">{error}</p>}
      {loading ? <p aria-busy="true">Loading conversations…</p> : !rows.length ? <p class="empty">No conversation here yet.</p> : (
        <VirtualList items={rows} rowHeight={64} label="Conversations, newest activity first" selected={selectedIndex < 0 ? 0 : selectedIndex}
          onSelect={(i) => setSelectedId(rows[i]?.id ?? null)} onOpen={open} onEnd={cursor && !loadingMore && !pageError ? more : undefined}
          keyOf={(c) => c.id} render={(c) => <Line c={c} channel={channelName(c.channelId)} />} />
      )}
      {pageError && <p class="error" role="alert">The next page could not be read: {pageError} <button type="button" onClick={() => setPageError(null)}>Retry</button></p>}
      <p class="hint">{rows.length.toLocaleString('en')} conversations{cursor ? ' (more load as you scroll)' : ''}. ↑/↓ to move, Enter to open.</p>
    </section>
  );
}

function Line({ c, channel }: { c: Row; channel: string }) {
  const [fetched, setFetched] = useState<Contact | null | undefined>(undefined);
  useEffect(() => {
    if (c.contactId && c.contact === undefined) contact(c.contactId).then(setFetched);
  }, [c.contactId, c.contact === undefined]);
  const who = c.contact ?? fetched;
  const unread = c.unreadCount;
  return (
    <div class="conv" data-conversation={c.id}>
      <div class="conv-main">
        <span class="conv-title">{c.title ?? (c.contactId ? displayName(who) : 'API conversation')}</span>
        <span class="conv-meta">{channel} · {c.lastSeq} messages{c.agentPaused ? ' · agent paused' : ''}</span>
      </div>
      <div class="conv-side">
        <span class={`badge status-${c.status}`}>{c.status}</span>
        {unread > 0 && <span class="unread"><span aria-hidden="true">{unread}</span><span class="sr-only">{unread} unread</span></span>}
        <time dateTime={c.lastActivityAt}>{ago(c.lastActivityAt)}</time>
      </div>
    </div>
  );
}

/** A filter by one of `items` (by id, shown by name), or "Any". */
function Choice({ label, value, items, onPick }: { label: string; value: string | undefined; items: Array<{ id: string; name: string }>; onPick: (id: string) => void }) {
  return (
    <label>{label}
      <select value={value ?? ''} onChange={(e) => onPick(e.currentTarget.value)}>
        <option value="">Any</option>
        {items.map((item) => <option key={item.id} value={item.id}>{item.name}</option>)}
      </select>
    </label>
  );
}

function ContactSearch({ contactId, onPick }: { contactId: string | undefined; onPick: (id: string | undefined) => void }) {
  const [q, setQ] = useState('');
  const [found, setFound] = useState<Contact[]>([]);
  const input = useRef<HTMLInputElement>(null);
  const clear = useRef<HTMLButtonElement>(null);
  const focusNext = useRef<'input' | 'clear' | null>(null);
  useEffect(() => {
    // Focus follows the control that replaced the one used (the list, then the clear button, then the field).
    if (focusNext.current === 'clear') clear.current?.focus();
    if (focusNext.current === 'input') input.current?.focus();
    focusNext.current = null;
  }, [contactId]);
  useEffect(() => {
    if (q.trim().length < 2) {
      setFound([]);
      return undefined;
    }
    const timer = setTimeout(() => {
      api<Page<Contact>>('/v1/contacts', { query: { q: q.trim(), limit: 10 } }).then((p) => setFound(p.data), () => setFound([]));
    }, 200);
    return () => clearTimeout(timer);
  }, [q]);
  if (contactId) {
    return (
      <span class="picked">Contact: <ContactName id={contactId} />{' '}
        <button ref={clear} type="button" class="link" onClick={() => { focusNext.current = 'input'; onPick(undefined); setQ(''); }}>clear</button>
      </span>
    );
  }
  return (
    <div class="search">
      <label>Contact<input ref={input} type="search" value={q} placeholder="name or number" onInput={(e) => setQ(e.currentTarget.value)} /></label>
      {found.length > 0 && (
        <ul class="suggestions" aria-label="Matching contacts">
          {found.map((c) => (
            <li key={c.id}>
              <button type="button" onClick={() => { focusNext.current = 'clear'; onPick(c.id); setFound([]); }}>{displayName(c)} <small>{c.handles.map((h) => h.address).join(', ')}</small></button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

function ContactName({ id }: { id: string }) {
  const [c, setC] = useState<Contact | null | undefined>(undefined);
  useEffect(() => { contact(id).then(setC); }, [id]);
  return <strong>{c === undefined ? '…' : displayName(c)}</strong>;
}
