import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, pickTenant, probe, session, signIn, signOut } from './api.js';
import { liveStatus, startLive, stopLive } from './live.js';
import { route } from './route.js';
import { Inbox } from './pages/inbox.js';
import { ConversationPage } from './pages/conversation.js';
import { Channels } from './pages/channels.js';
import { Usage } from './pages/usage.js';
import { Alerts } from './pages/alerts.js';
import { System } from './pages/system.js';

const NAV = [
  ['inbox', 'Inbox'], ['channels', 'Channels'], ['usage', 'Usage'], ['alerts', 'Alerts & webhooks'], ['system', 'System'],
] as const;

export function App() {
  const [error, setError] = useState<string | null>(null);
  const connect = () => {
    setError(null);
    probe().catch((e: Error) => setError(e.message));
  };
  useEffect(connect, []);
  const mode = session.mode.value;
  const [live, setLive] = useState(false);
  useEffect(() => {
    setLive(false);
    if (mode === 'open' || mode === 'key' || (mode === 'admin' && session.tenant.value)) {
      let current = true;
      void startLive().then(() => current && setLive(true));
      return () => { current = false; stopLive(); };
    }
    return undefined;
  }, [mode, session.tenant.value]);

  if (error) return <main class="center"><h1>Colloquy</h1><p role="alert">The server did not answer: {error}</p><button type="button" onClick={connect}>Try again</button></main>;
  if (mode === 'unknown') return <main class="center" aria-busy="true"><h1>Colloquy</h1><p>Connecting…</p></main>;
  if (mode === 'signed-out') return <SignIn />;
  if (mode === 'admin' && !session.tenant.value) return <TenantPicker />;
  if (!live) return <main class="center" aria-busy="true"><h1>Colloquy</h1><p>Connecting…</p></main>;
  const current = route.value;
  // Pages are keyed by tenant: switching tenants starts every page afresh.
  const key = session.tenant.value ?? '';
  return (
    <div class="shell">
      <header class="top">
        <a class="brand" href="#/inbox">Colloquy</a>
        <nav aria-label="Pages">
          {NAV.map(([page, label]) => (
            <a key={page} href={`#/${page}`} aria-current={current.page === page || (page === 'inbox' && current.page === 'conversation') ? 'page' : undefined}>{label}</a>
          ))}
        </nav>
        <span class={`live live-${liveStatus.value}`} role="status" aria-live="polite">{liveStatus.value === 'live' ? 'Live' : liveStatus.value === 'down' ? 'Reconnecting…' : 'Connecting…'}</span>
        {mode === 'admin' && <button type="button" class="link" onClick={() => pickTenant(null)}>Tenant: {session.tenant.value}</button>}
        {mode !== 'open' && <button type="button" class="link" onClick={() => signOut()}>Sign out</button>}
      </header>
      <main id="main" key={key}>
        {current.page === 'inbox' && <Inbox />}
        {current.page === 'conversation' && <ConversationPage key={current.id} id={current.id} />}
        {current.page === 'channels' && <Channels />}
        {current.page === 'usage' && <Usage />}
        {current.page === 'alerts' && <Alerts />}
        {current.page === 'system' && <System />}
      </main>
    </div>
  );
}

function SignIn() {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn(key.trim());
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="center">
      <h1>Colloquy</h1>
      <form class="card signin" onSubmit={submit}>
        <label for="key">API key</label>
        <input id="key" name="key" type="password" autocomplete="off" required value={key} onInput={(e) => setKey(e.currentTarget.value)} />
        <p class="hint">Kept in this tab only (sessionStorage) and sent as a bearer token. The admin key may pick a tenant.</p>
        <button type="submit" disabled={busy || !key.trim()}>Sign in</button>
        {error && <p class="error" role="alert">{error}</p>}
      </form>
    </main>
  );
}

function TenantPicker() {
  const [tenants, setTenants] = useState<string[] | null>(null);
  const [typed, setTyped] = useState('');
  useEffect(() => {
    api<{ data: { id: string }[] }>('/v1/tenants').then((r) => setTenants(r.data.map((t) => t.id)), () => setTenants([]));
  }, []);
  return (
    <main class="center">
      <h1>Pick a tenant</h1>
      <div class="card">
        {tenants === null ? <p>Loading…</p> : (
          <ul class="plain">
            {tenants.map((t) => <li key={t}><button type="button" onClick={() => pickTenant(t)}>{t}</button></li>)}
            {!tenants.length && <li>No tenant has anything yet.</li>}
          </ul>
        )}
        <form onSubmit={(e) => { e.preventDefault(); if (typed.trim()) pickTenant(typed.trim()); }}>
          <label for="tenant">Or another tenant</label>
          <input id="tenant" value={typed} onInput={(e) => setTyped(e.currentTarget.value)} />
          <button type="submit">Open</button>
        </form>
        <button type="button" class="link" onClick={() => signOut()}>Sign out</button>
      </div>
    </main>
  );
}
