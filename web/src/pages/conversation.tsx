import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError } from '../api.js';
import { contact, displayName, forgetContacts } from '../contacts.js';
import { num, money, time } from '../format.js';
import { resyncs, subscribe, withoutRecord } from '../live.js';
import { mergeMessages, newerConversation } from '../merge.js';
import { go } from '../route.js';
import { MessageParts, Ticks } from '../parts/message-parts.js';
import type { Contact, Conversation, ConversationState, Message, Page, StoreEvent } from '../types.js';

type Conv = Conversation;

export function ConversationPage({ id }: { id: string }) {
  const [conversation, setConversation] = useState<Conv | null>(null);
  const [gone, setGone] = useState<string | null>(null);
  const [messages, setMessages] = useState<Message[]>([]);
  const [older, setOlder] = useState(false);
  const [loadingOlder, setLoadingOlder] = useState(false);
  const [state, setState] = useState<ConversationState | null>(null);
  const [history, setHistory] = useState<StoreEvent[]>([]);
  const [next, setNext] = useState<Conversation | null>(null);
  const [who, setWho] = useState<Contact | null>(null);
  const [error, setError] = useState<string | null>(null);
  const bottom = useRef<HTMLDivElement>(null);

  // Bumped by a deletion or an erasure (and by a restore): a read begun before it is dropped, never shown over it.
  const epoch = useRef(0);
  const fail = (e: unknown) => setError(e instanceof Error ? e.message : String(e));
  // Every copy of the conversation goes through here: the newer one is kept, whatever order they arrive in.
  const keep = (c: Conv) => setConversation((now) => newerConversation(now, c));
  const current = (mine: number) => mine === epoch.current;
  const markRead = () => {
    const mine = epoch.current;
    return api<Conv>(`/v1/conversations/${id}/read`, { method: 'POST', body: {} }).then((c) => current(mine) && keep(c), () => undefined);
  };
  const load = () => {
    const mine = epoch.current;
    api<Conv>(`/v1/conversations/${id}`).then((c) => {
      if (!current(mine)) return;
      setGone(null);
      setError(null);
      keep(c);
      if (c.contactId) contact(c.contactId).then(setWho);
      if (c.contactId && c.channelId) {
        api<Page<Conversation>>('/v1/conversations', { query: { contactId: c.contactId, channelId: c.channelId, limit: 200 } })
          .then((p) => current(mine) && setNext(p.data.find((o) => o.previousConversationId === id) ?? null), () => undefined);
      }
    }, (e) => current(mine) && (e instanceof ApiError && e.status === 404 ? setGone('This conversation does not exist (or it is in the trash).') : fail(e)));
    api<Page<Message>>(`/v1/conversations/${id}/messages`, { query: { order: 'desc', limit: 100 } }).then((p) => {
      if (!current(mine)) return;
      // Merged with what the stream brought meanwhile: each message's most advanced copy.
      setMessages((now) => mergeMessages(now, p.data));
      setOlder(p.nextCursor !== null);
      void markRead();
    }, (e) => current(mine) && !(e instanceof ApiError && e.status === 404) && fail(e));
    api<ConversationState>(`/v1/conversations/${id}/state`).then((st) => current(mine) && setState(st), () => undefined);
    void stateHistory(id).then((h) => current(mine) && setHistory(h), () => undefined);
  };
  const removed = (why: string) => {
    epoch.current++;
    setMessages([]);
    setGone(why);
  };

  useEffect(load, [id, resyncs.value]);

  // Live: new messages, ticks that move, edits, state and status changes of this conversation.
  useEffect(() => subscribe((event) => {
    const data = event.data as Record<string, unknown>;
    if (event.type === 'contact.erased' && Array.isArray(data.conversationIds) && data.conversationIds.includes(id)) {
      forgetContacts();
      removed('This contact was erased, with this conversation.');
      return;
    }
    if (event.conversationId !== id) return;
    if (event.type === 'message.created' || event.type === 'message.status' || event.type === 'message.edited') {
      if (withoutRecord(data)) return;
      setMessages((now) => mergeMessages(now, [data as unknown as Message]));
      if (event.type === 'message.created') void markRead();
    } else if (event.type === 'conversation.updated') {
      if (!withoutRecord(data)) keep(data as unknown as Conv);
    } else if (event.type === 'conversation.restored') {
      epoch.current++;
      load(); // everything again: its messages and state came back with it
    } else if (event.type === 'conversation.deleted') {
      removed('This conversation was deleted (moved to the trash, or erased).');
    } else if (event.type === 'state.updated' && !withoutRecord(data)) {
      // The event carries the state as it is now: shown at once, and its change added to the history.
      const st = data as unknown as ConversationState;
      setState((now) => (now && now.version > st.version ? now : st));
      setHistory((h) => (h.some((e) => e.id === event.id) ? h : [event, ...h].slice(0, 50)));
    }
  }), [id]);

  // The newest message in view as it arrives; not when older ones are added above.
  const newest = messages.at(-1)?.id;
  useEffect(() => { bottom.current?.scrollIntoView({ block: 'end' }); }, [newest]);

  const loadOlder = () => {
    const first = messages[0];
    if (!first || loadingOlder) return;
    setLoadingOlder(true);
    api<Page<Message>>(`/v1/conversations/${id}/messages`, { query: { order: 'desc', before: first.seq, limit: 100 } }).then((p) => {
      setMessages((now) => mergeMessages(now, p.data));
      setOlder(p.nextCursor !== null);
    }, fail).finally(() => setLoadingOlder(false));
  };
  const patch = (body: Record<string, unknown>) =>
    api<Conv>(`/v1/conversations/${id}`, { method: 'PATCH', body }).then(keep, fail);
  const trash = () => {
    if (!confirm('Move this conversation to the trash? It can be restored from the trash for a while.')) return;
    api(`/v1/conversations/${id}`, { method: 'DELETE' }).then(() => go('#/inbox'), fail);
  };

  if (gone) return <section><h1>Conversation</h1><p role="alert">{gone}</p><p><a href="#/inbox">Back to the inbox</a></p></section>;
  if (!conversation) return <section aria-busy="true"><h1>Conversation</h1>{error ? <p class="error" role="alert">{error}</p> : <p>Loading…</p>}</section>;

  const c = conversation;
  const usage = messages.filter((m) => m.usage);
  const tokens = usage.reduce((sum, m) => sum + (m.usage?.totalTokens ?? 0), 0);
  const cost = usage.reduce((sum, m) => sum + (m.usage?.cost ?? 0), 0);
  return (
    <section class="conversation">
      <div class="conv-head">
        <h1>{c.title ?? (c.contactId ? displayName(who) : 'API conversation')}</h1>
        <span class={`badge status-${c.status}`} data-testid="status">{c.status}</span>
        {c.agentPaused && <span class="badge">agent paused</span>}
        <nav class="links" aria-label="Linked conversations">
          {c.previousConversationId && <a href={`#/conversations/${c.previousConversationId}`}>← Previous conversation</a>}
          {next && <a href={`#/conversations/${next.id}`}>Next conversation →</a>}
        </nav>
      </div>
      {error && <p class="error" role="alert">{error}</p>}
      <div class="conv-body">
        <div class="thread">
          {older && <button type="button" class="link" disabled={loadingOlder} onClick={loadOlder}>Load older messages</button>}
          <ol class="messages" aria-label="Messages">
            {messages.map((m) => (
              <li key={m.id} class={`msg role-${m.role}${m.sender === 'human' ? ' human' : ''}`} data-message={m.id} data-seq={m.seq}>
                <div class="msg-head">
                  <span class="who">{m.role === 'user' ? displayName(who) : m.role === 'assistant' ? (m.sender === 'human' ? 'Operator' : 'Agent') : m.role}</span>
                  <time dateTime={m.createdAt}>{time(m.createdAt)}</time>
                  <Ticks message={m} />
                </div>
                {m.content && <p class="content">{m.content}</p>}
                <MessageParts message={m} />
                {m.usage && <p class="usage-line">{num(m.usage.inputTokens)} in · {num(m.usage.outputTokens)} out · {m.usage.model}{m.usage.cost !== null ? ` · ${money(m.usage.cost)}` : ''}</p>}
              </li>
            ))}
          </ol>
          <div ref={bottom} />
          {c.status !== 'closed' && <Reply id={id} channel={c.channelId !== null} onError={fail} />}
        </div>
        <aside class="side" aria-label="Conversation details">
          <h2>Actions</h2>
          <div class="actions">
            {c.agentId && <button type="button" onClick={() => patch({ agentPaused: !c.agentPaused })}>{c.agentPaused ? 'Resume the agent' : 'Pause the agent'}</button>}
            {c.status === 'closed'
              ? <button type="button" onClick={() => patch({ status: 'open' })}>Reopen</button>
              : <button type="button" onClick={() => patch({ status: 'closed' })}>Close</button>}
            <button type="button" class="danger" onClick={trash}>Move to trash</button>
          </div>
          <h2>State</h2>
          <dl class="facts">
            <dt>State</dt><dd data-testid="state">{state?.state ?? '—'}</dd>
            <dt>Previous</dt><dd>{state?.previousState ?? '—'}</dd>
            <dt>Version</dt><dd>{state?.version ?? 0}</dd>
          </dl>
          {state && Object.keys(state.data).length > 0 && (
            <table class="slots"><caption>Slots</caption><tbody>
              {Object.entries(state.data).map(([k, v]) => <tr key={k}><th scope="row">{k}</th><td>{typeof v === 'string' ? v : JSON.stringify(v)}</td></tr>)}
            </tbody></table>
          )}
          {history.length > 0 && (
            <>
              <h3>State history</h3>
              <ol class="history">{history.map((e) => <li key={e.id}>{String((e.data as { state?: unknown }).state ?? '—')} <small>v{String((e.data as { version?: unknown }).version)} · {time(e.createdAt)}</small></li>)}</ol>
            </>
          )}
          <h2>Usage</h2>
          <p>{usage.length} model call{usage.length === 1 ? '' : 's'} · {num(tokens)} tokens · {money(cost)}{older ? ' (in the messages shown)' : ''}</p>
          <h2>Details</h2>
          <dl class="facts">
            <dt>Messages</dt><dd>{c.lastSeq}</dd>
            <dt>Created</dt><dd>{time(c.createdAt)}</dd>
            <dt>Last activity</dt><dd>{time(c.lastActivityAt)}</dd>
            <dt>Id</dt><dd><code>{c.id}</code></dd>
          </dl>
        </aside>
      </div>
    </section>
  );
}

/** A person's reply: an assistant message with sender human; on a channel it leaves through the outbox. */
function Reply({ id, channel, onError }: { id: string; channel: boolean; onError: (e: unknown) => void }) {
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const send = async (e: Event) => {
    e.preventDefault();
    if (!text.trim()) return;
    setBusy(true);
    try {
      await api(`/v1/conversations/${id}/messages`, {
        method: 'POST', body: { role: 'assistant', sender: 'human', content: text.trim() },
      });
      setText('');
    } catch (err) {
      onError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="reply" onSubmit={send}>
      <label for="reply">Reply as a person{channel ? ' (sent through the channel)' : ''}</label>
      <textarea id="reply" rows={3} value={text} onInput={(e) => setText(e.currentTarget.value)}
        onKeyDown={(e) => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) void send(e); }} />
      <button type="submit" disabled={busy || !text.trim()}>Send</button>
    </form>
  );
}

/**
 * The conversation's state changes from its event log, newest first (the last 50). The log is read from its start, up
 * to 2,000 events (it pages forward only): a longer conversation shows the changes among those, then the live ones.
 */
async function stateHistory(id: string): Promise<StoreEvent[]> {
  const found: StoreEvent[] = [];
  let after: string | undefined;
  for (let page = 0; page < 10; page++) {
    const p = await api<Page<StoreEvent>>('/v1/events', { query: { conversationId: id, limit: 200, after } });
    found.push(...p.data.filter((e) => e.type === 'state.updated'));
    if (p.data.length < 200 || !p.nextCursor) break;
    after = p.nextCursor;
  }
  return found.slice(-50).reverse();
}
