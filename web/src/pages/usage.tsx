import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, agentsList } from '../api.js';
import { money, num } from '../format.js';
import { subscribe } from '../live.js';
import { Chart, type Series } from '../parts/chart.js';
import type { Agent, UsageStats } from '../types.js';

interface Budget { scope: string; dailyTokens?: number; dailyCost?: number; economyAt?: number; timezone?: string }
interface Group { key: string | null; calls: number; inputTokens: number; outputTokens: number; totalTokens: number; cost: number }
const DAYS = 30;

export function Usage() {
  const [agents, setAgents] = useState<Agent[]>([]);
  const [agentId, setAgentId] = useState('');
  const [stats, setStats] = useState<UsageStats | null>(null);
  const [budgets, setBudgets] = useState<Budget[]>([]);
  const [byAgent, setByAgent] = useState<Group[]>([]);
  const [byModel, setByModel] = useState<Group[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);

  useEffect(() => {
    agentsList().then(setAgents, () => undefined);
    api<{ data: Budget[] }>('/v1/budgets').then((b) => setBudgets(b.data), () => undefined);
    // A new model call moves the figures: read again 3 s after the first of a burst (the last ones included).
    let timer: ReturnType<typeof setTimeout> | undefined;
    const off = subscribe((e) => {
      if (e.type === 'usage.recorded' || e.type === 'budget.economy' || e.type === 'budget.exceeded') {
        timer ??= setTimeout(() => { timer = undefined; setTick((t) => t + 1); }, 3_000);
      }
    });
    return () => { off(); clearTimeout(timer); };
  }, []);
  const budget = budgets.find((b) => b.scope === (agentId ? `agent:${agentId}` : 'tenant'));
  const timezone = budget?.timezone ?? 'UTC';
  useEffect(() => {
    const day = 86_400_000;
    const to = new Date(Math.ceil(Date.now() / day) * day + day).toISOString();
    const from = new Date(Date.parse(to) - (DAYS + 1) * day).toISOString();
    api<UsageStats>('/v1/stats/usage', { query: { bucket: '1d', from, to, timezone, agentId: agentId || undefined } }).then(setStats, (e: Error) => setError(e.message));
    api<{ groups: Group[] }>('/v1/usage', { query: { groupBy: 'agent', from, to } }).then((r) => setByAgent(r.groups), () => undefined);
    api<{ groups: Group[] }>('/v1/usage', { query: { groupBy: 'model', from, to } }).then((r) => setByModel(r.groups), () => undefined);
  }, [agentId, timezone, tick]);

  // A day is over budget when either limit is reached, in economy from `economyAt` of either (as the agents judge).
  const share = (p: UsageStats['series'][number]) => Math.max(
    budget?.dailyTokens ? p.totalTokens / budget.dailyTokens : 0,
    budget?.dailyCost ? p.cost / budget.dailyCost : 0,
  );
  const economyAt = budget?.economyAt ?? 0.8;
  const chart = useMemo(() => {
    if (!stats) return null;
    const at = stats.series.map((p) => Date.parse(p.at) / 1000);
    const series: Series[] = [{ label: 'tokens', color: '#2563eb', bars: true, values: stats.series.map((p) => p.totalTokens) }];
    if (budget?.dailyTokens) series.push({ label: 'daily budget', color: '#dc2626', dash: [6, 4], values: at.map(() => budget.dailyTokens!) });
    const bands: { from: number; to: number; color: string }[] = [];
    stats.series.forEach((p, i) => {
      const color = share(p) >= 1 ? 'rgba(220,38,38,0.15)' : share(p) >= economyAt ? 'rgba(202,138,4,0.15)' : null;
      if (color) bands.push({ from: at[i]! - 43_200, to: at[i]! + 43_200, color });
    });
    const costSeries: Series[] = [{ label: 'cost (USD)', color: '#16a34a', bars: true, values: stats.series.map((p) => p.cost) }];
    if (budget?.dailyCost) costSeries.push({ label: 'daily cost budget', color: '#dc2626', dash: [6, 4], values: at.map(() => budget.dailyCost!) });
    return { at, series, bands, costSeries };
  }, [stats, budget]);
  const exceeded = stats ? stats.series.filter((p) => share(p) >= 1).length : 0;
  const economy = stats ? stats.series.filter((p) => share(p) >= economyAt && share(p) < 1).length : 0;
  const agentName = (id: string | null) => (id ? agents.find((a) => a.id === id)?.name ?? id.slice(0, 8) : 'no agent');

  return (
    <section>
      <h1>Usage</h1>
      <div class="filters">
        <label>Agent
          <select value={agentId} onChange={(e) => setAgentId(e.currentTarget.value)}>
            <option value="">Whole tenant</option>
            {agents.map((a) => <option key={a.id} value={a.id}>{a.name}</option>)}
          </select>
        </label>
        <span>{budget && (budget.dailyTokens || budget.dailyCost) ? `Budget: ${budget.dailyTokens ? `${num(budget.dailyTokens)} tokens` : ''}${budget.dailyTokens && budget.dailyCost ? ' / ' : ''}${budget.dailyCost ? money(budget.dailyCost) : ''} a day (${timezone})` : 'No daily budget set'}</span>
      </div>
      {error && <p class="error" role="alert">{error}</p>}
      {chart ? (
        <>
          <Chart title={`Tokens per day, last ${DAYS} days`} at={chart.at} series={chart.series} bands={chart.bands} height={220} />
          {(budget?.dailyTokens || budget?.dailyCost) && <p class="legend-note"><span class="swatch economy" /> economy mode days: {economy} · <span class="swatch exceeded" /> budget exceeded days: {exceeded}</p>}
          <Chart title="Cost per day (USD)" at={chart.at} series={chart.costSeries} bands={chart.bands} height={160} />
        </>
      ) : <p aria-busy="true">Loading…</p>}
      <div class="two">
        <UsageTable caption="By agent" groups={byAgent} name={agentName} />
        <UsageTable caption="By model" groups={byModel} name={(k) => k ?? '—'} />
      </div>
    </section>
  );
}

function UsageTable({ caption, groups, name }: { caption: string; groups: Group[]; name: (key: string | null) => string }) {
  return (
    <table class="usage"><caption>{caption} (last {DAYS} days)</caption>
      <thead><tr><th scope="col">Name</th><th scope="col">Calls</th><th scope="col">Input</th><th scope="col">Output</th><th scope="col">Cost</th></tr></thead>
      <tbody>
        {groups.map((g) => <tr key={g.key ?? '-'}><th scope="row">{name(g.key)}</th><td>{num(g.calls)}</td><td>{num(g.inputTokens)}</td><td>{num(g.outputTokens)}</td><td>{money(g.cost)}</td></tr>)}
        {!groups.length && <tr><td colSpan={5}>No model call in this period.</td></tr>}
      </tbody>
    </table>
  );
}
