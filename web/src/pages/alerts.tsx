import { useEffect, useState } from 'preact/hooks';
import { all, api } from '../api.js';
import { num, time } from '../format.js';
import { resyncs, subscribe } from '../live.js';
import type { Alert, Page, WebhookDelivery, WebhookEndpoint } from '../types.js';

export function Alerts() {
  const [open, setOpen] = useState<Alert[] | null>(null);
  const [history, setHistory] = useState<Alert[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [endpoints, setEndpoints] = useState<WebhookEndpoint[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = () => {
    api<Page<Alert>>('/v1/alerts', { query: { status: 'open', limit: 200 } }).then((p) => setOpen(p.data), (e: Error) => setError(e.message));
    api<Page<Alert>>('/v1/alerts', { query: { limit: 50 } }).then((p) => { setHistory(p.data); setCursor(p.nextCursor); }, () => undefined);
    all<WebhookEndpoint>('/v1/webhooks').then(setEndpoints, () => setEndpoints([]));
  };
  useEffect(() => {
    load();
    return subscribe((e) => { if (e.type === 'alert.raised' || e.type === 'alert.resolved') load(); });
  }, [resyncs.value]);
  const more = () => cursor && api<Page<Alert>>('/v1/alerts', { query: { limit: 50, cursor } }).then((p) => { setHistory((h) => [...h, ...p.data]); setCursor(p.nextCursor); });
  return (
    <section>
      <h1>Alerts and webhooks</h1>
      {error && <p class="error" role="alert">{error}</p>}
      <h2>Open alerts</h2>
      {open === null ? <p aria-busy="true">Loading…</p> : !open.length ? <p class="empty ok">No open alert.</p> : (
        <ul class="alerts" aria-label="Open alerts">
          {open.map((a) => <li key={a.id} class={`alert sev-${a.severity}`} data-rule={a.rule}><strong>{a.rule}</strong> {a.message} <small>since {time(a.raisedAt)}</small></li>)}
        </ul>
      )}
      <h2>History</h2>
      <table class="history-table">
        <thead><tr><th scope="col">Raised</th><th scope="col">Rule</th><th scope="col">Message</th><th scope="col">Resolved</th></tr></thead>
        <tbody>{history.map((a) => <tr key={a.id}><td>{time(a.raisedAt)}</td><td>{a.rule}</td><td>{a.message}</td><td>{a.resolvedAt ? time(a.resolvedAt) : 'open'}</td></tr>)}</tbody>
      </table>
      {cursor && <button type="button" class="link" onClick={more}>Older alerts</button>}
      <h2>Webhook endpoints</h2>
      {endpoints === null ? <p aria-busy="true">Loading…</p> : !endpoints.length ? <p class="empty">No webhook endpoint: create one with POST /v1/webhooks.</p>
        : endpoints.map((w) => <Endpoint key={w.id} endpoint={w} onChange={load} />)}
    </section>
  );
}

function Endpoint({ endpoint: w, onChange }: { endpoint: WebhookEndpoint; onChange: () => void }) {
  const [deliveries, setDeliveries] = useState<WebhookDelivery[] | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const load = () => api<Page<WebhookDelivery>>(`/v1/webhooks/${w.id}/deliveries`, { query: { limit: 20 } }).then((p) => setDeliveries(p.data), () => setDeliveries([]));
  useEffect(() => { void load(); }, [w.id]);
  const replay = (after: string) => {
    if (!confirm('Deliver again every event after this one? Receivers dedup on webhook-id.')) return;
    api(`/v1/webhooks/${w.id}/replay`, { method: 'POST', body: { after } }).then(() => { setNote('Replay started.'); onChange(); }, (e: Error) => setNote(e.message));
  };
  const test = () => api(`/v1/webhooks/${w.id}/test`, { method: 'POST', body: {} }).then(() => { setNote('Test event sent.'); void load(); }, (e: Error) => setNote(e.message));
  return (
    <article class="card" aria-labelledby={`wh-${w.id}`}>
      <header class="card-head">
        <h3 id={`wh-${w.id}`}><code>{w.url}</code></h3>
        <span class={`badge wh-${w.status}`}>{w.status}</span>
      </header>
      <p>{w.description ? `${w.description}. ` : ''}Events: {w.events.join(', ')}. Last success: {time(w.lastSuccessAt)}.{w.attempts ? ` ${num(w.attempts)} failed attempts at the head.` : ''}{w.disabledReason ? ` Disabled: ${w.disabledReason}` : ''}</p>
      <button type="button" onClick={test}>Send a test event</button>
      {note && <p role="status">{note}</p>}
      <table class="deliveries"><caption>Recent deliveries</caption>
        <thead><tr><th scope="col">When</th><th scope="col">Event</th><th scope="col">Attempt</th><th scope="col">Result</th><th scope="col">Latency</th><th scope="col"><span class="sr-only">Replay</span></th></tr></thead>
        <tbody>
          {(deliveries ?? []).map((d) => (
            <tr key={d.id}>
              <td>{time(d.createdAt)}</td><td>{d.eventType}</td><td>{d.attempt}</td>
              <td class={d.status === 'failed' ? 'bad' : 'good'}>{d.status}{d.httpStatus ? ` ${d.httpStatus}` : ''}{d.error ? `: ${d.error}` : ''}</td>
              <td>{d.latencyMs} ms</td>
              <td>{!d.eventId.startsWith('test_') && <button type="button" class="link" onClick={() => replay(d.eventId)}>Replay after this</button>}</td>
            </tr>
          ))}
          {deliveries !== null && !deliveries.length && <tr><td colSpan={6}>No delivery yet.</td></tr>}
        </tbody>
      </table>
    </article>
  );
}
