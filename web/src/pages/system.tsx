import { useEffect, useState } from 'preact/hooks';
import { api, session } from '../api.js';
import { num } from '../format.js';

interface TenantHealth {
  status: string; tenant: string; agents: number;
  channels: { id: string; name: string; kind: string; status: string; reasons: string[]; received: number; stored: number; errors: number; outboxDepth: number }[];
}
interface Doctor { ok?: boolean; checks?: { name: string; ok: boolean; detail?: string; fix?: string }[]; [k: string]: unknown }

export function System() {
  const [health, setHealth] = useState<TenantHealth | null>(null);
  const [version, setVersion] = useState<string | null>(null);
  const [detailed, setDetailed] = useState<Record<string, unknown> | null>(null);
  const [doctor, setDoctor] = useState<Doctor | null>(null);
  const [error, setError] = useState<string | null>(null);
  const admin = session.mode.value === 'admin' || session.mode.value === 'open';
  useEffect(() => {
    api<TenantHealth>('/v1/health').then(setHealth, (e: Error) => setError(e.message));
    api<{ info: { version: string } }>('/openapi.json').then((d) => setVersion(d.info.version), () => undefined);
    if (admin) {
      api<Record<string, unknown>>('/health/detailed').then(setDetailed, () => undefined);
      api<Doctor>('/v1/doctor').then(setDoctor, () => undefined);
    }
  }, []);
  return (
    <section>
      <h1>System</h1>
      {error && <p class="error" role="alert">{error}</p>}
      <dl class="facts">
        <dt>Version</dt><dd data-testid="version">{version ?? '…'}</dd>
        <dt>Status</dt><dd><span class={`badge health-${health?.status ?? 'unknown'}`}>{health?.status ?? '…'}</span></dd>
        <dt>Tenant</dt><dd>{health?.tenant ?? '…'}</dd>
        <dt>Agents</dt><dd>{health ? num(health.agents) : '…'}</dd>
      </dl>
      {health && (
        <table><caption>Channels</caption>
          <thead><tr><th scope="col">Channel</th><th scope="col">Health</th><th scope="col">Received</th><th scope="col">Stored</th><th scope="col">Errors</th><th scope="col">Outbox</th></tr></thead>
          <tbody>{health.channels.map((c) => <tr key={c.id}><th scope="row">{c.name} <small>{c.kind}</small></th><td>{c.status}{c.reasons.length ? `: ${c.reasons.join('; ')}` : ''}</td><td>{num(c.received)}</td><td>{num(c.stored)}</td><td>{num(c.errors)}</td><td>{num(c.outboxDepth)}</td></tr>)}</tbody>
        </table>
      )}
      {doctor && (
        <table><caption>Doctor: {doctor.ok ? 'every check passed' : 'problems found'}</caption>
          <thead><tr><th scope="col">Check</th><th scope="col">Result</th><th scope="col">Detail</th></tr></thead>
          <tbody>{(doctor.checks ?? []).map((c) => (
            <tr key={c.name}><th scope="row">{c.name}</th><td class={c.ok ? 'good' : 'bad'}>{c.ok ? 'ok' : 'problem'}</td><td>{c.detail}{c.fix ? ` — ${c.fix}` : ''}</td></tr>
          ))}</tbody>
        </table>
      )}
      {detailed && (
        <>
          <h2>Deployment</h2>
          <Tree value={detailed} />
        </>
      )}
    </section>
  );
}

/** Any JSON as nested definition lists: readable without knowing its shape. */
function Tree({ value }: { value: unknown }) {
  if (value === null || typeof value !== 'object') return <span>{value === null ? '—' : String(value)}</span>;
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i + 1), v] as const) : Object.entries(value);
  if (!entries.length) return <span>—</span>;
  return (
    <dl class="tree">
      {entries.map(([k, v]) => (
        <div key={k}><dt>{k}</dt><dd><Tree value={v} /></dd></div>
      ))}
    </dl>
  );
}
