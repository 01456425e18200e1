import { useEffect, useMemo, useState } from 'preact/hooks';
import { all, api } from '../api.js';
import { ago, num, time } from '../format.js';
import { subscribe } from '../live.js';
import { Chart, type Series } from '../parts/chart.js';
import type { Channel, ChannelHealth, MessageStats } from '../types.js';

type WithHealth = Channel & { health: ChannelHealth };
const COUNTERS = ['received', 'stored', 'duplicates', 'rejected', 'errors'] as const;
const COLORS = ['#2563eb', '#16a34a', '#ca8a04', '#9333ea', '#dc2626'];

export function Channels() {
  const [channels, setChannels] = useState<WithHealth[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = (id?: string) => {
    if (id) {
      api<WithHealth>(`/v1/channels/${id}`).then((c) => setChannels((now) => now?.map((x) => (x.id === c.id ? c : x)) ?? [c]), () => undefined);
      return;
    }
    all<Channel>('/v1/channels')
      .then((list) => Promise.all(list.map((c) => api<WithHealth>(`/v1/channels/${c.id}`))))
      .then((list) => { setChannels(list); setError(null); }, (e: Error) => setError(e.message));
  };
  useEffect(() => {
    load();
    const off = subscribe((event) => {
      if (event.type === 'channel.health') load((event.data as { id?: string }).id ?? (event.data as { channelId?: string }).channelId);
    });
    const timer = setInterval(() => load(), 30_000); // counters move without a health change
    return () => { off(); clearInterval(timer); };
  }, []);
  return (
    <section>
      <h1>Channels</h1>
      {error && <p class="error" role="alert">{error}</p>}
      {channels === null ? <p aria-busy="true">Loading…</p> : !channels.length ? <p class="empty">No channel yet: create one with POST /v1/channels.</p>
        : channels.map((c) => <ChannelCard key={c.id} channel={c} />)}
    </section>
  );
}

function ChannelCard({ channel: c }: { channel: WithHealth }) {
  const h = c.health;
  return (
    <article class="card channel" data-channel={c.id} aria-labelledby={`ch-${c.id}`}>
      <header class="card-head">
        <h2 id={`ch-${c.id}`}>{c.name} <small>{c.kind}</small></h2>
        <span class={`badge health-${h.status}`} data-testid="health">{h.status.replace('_', ' ')}</span>
      </header>
      {h.reasons.length > 0 && <ul class="reasons">{h.reasons.map((r) => <li key={r}>{r}</li>)}</ul>}
      <dl class="facts inline">
        <dt>Last inbound</dt><dd>{ago(h.lastInboundAt)}</dd>
        <dt>Last outbound</dt><dd>{ago(h.lastOutboundAt)}</dd>
        <dt>Outbox</dt><dd>{num(h.outbox.depth)} waiting{h.outbox.oldestPendingAgeSeconds !== null ? `, oldest ${Math.round(h.outbox.oldestPendingAgeSeconds)} s` : ''}</dd>
        <dt>Sent (15 min)</dt><dd>{num(h.outbox.recentSent)} ok, {num(h.outbox.recentFailed)} failed</dd>
      </dl>
      <table class="counters"><caption>Totals</caption>
        <thead><tr>{Object.keys(h.counters).map((k) => <th key={k} scope="col">{k}</th>)}</tr></thead>
        <tbody><tr>{Object.values(h.counters).map((v, i) => <td key={i}>{num(v)}</td>)}</tr></tbody>
      </table>
      <div class="charts">
        <Traffic channelId={c.id} bucket="1m" hours={1} title="Last hour, per minute" />
        <Traffic channelId={c.id} bucket="1h" hours={24 * 7} title="Last week, per hour" />
      </div>
      {h.recentErrors.length > 0 && (
        <table class="errors"><caption>Last errors</caption>
          <thead><tr><th scope="col">When</th><th scope="col">Code</th><th scope="col">What</th><th scope="col">Where</th></tr></thead>
          <tbody>{h.recentErrors.map((e, i) => <tr key={i}><td>{time(e.at)}</td><td><code>{e.code}</code></td><td>{e.title}</td><td>{e.source}</td></tr>)}</tbody>
        </table>
      )}
    </article>
  );
}

function Traffic({ channelId, bucket, hours, title }: { channelId: string; bucket: '1m' | '1h'; hours: number; title: string }) {
  const [stats, setStats] = useState<MessageStats | null>(null);
  useEffect(() => {
    const load = () => {
      const step = bucket === '1m' ? 60_000 : 3_600_000;
      const to = Math.ceil(Date.now() / step) * step;
      api<MessageStats>('/v1/stats/messages', { query: { channelId, bucket, from: new Date(to - hours * 3_600_000).toISOString(), to: new Date(to).toISOString() } })
        .then(setStats, () => undefined);
    };
    load();
    const timer = setInterval(load, bucket === '1m' ? 30_000 : 300_000);
    return () => clearInterval(timer);
  }, [channelId, bucket, hours]);
  const data = useMemo(() => stats && {
    at: stats.series.map((p) => Date.parse(p.at) / 1000),
    series: COUNTERS.map((k, i): Series => ({ label: k, color: COLORS[i]!, values: stats.series.map((p) => p[k]) })),
  }, [stats]);
  if (!data) return <p class="chart-wait">Loading {title.toLowerCase()}…</p>;
  return <Chart title={title} at={data.at} series={data.series} />;
}
