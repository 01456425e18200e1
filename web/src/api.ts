import { signal } from '@preact/signals';
import type { Agent, Alert } from './types.js';

/** Who the dashboard talks as: an API key (or the admin key with a tenant), or nobody on an open loopback server. */
export const session = {
  key: signal<string | null>(sessionStorage.getItem('colloquy.key')),
  tenant: signal<string | null>(sessionStorage.getItem('colloquy.tenant')),
  /** unknown until the first call; open: a loopback server without keys; admin: the admin key (may pick the tenant). */
  mode: signal<'unknown' | 'signed-out' | 'open' | 'key' | 'admin'>('unknown'),
};

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

const headers = (extra: Record<string, string> = {}): Record<string, string> => {
  const h: Record<string, string> = { accept: 'application/json', ...extra };
  if (session.key.value) h.authorization = `Bearer ${session.key.value}`;
  if (session.mode.value === 'admin' && session.tenant.value) h['x-colloquy-tenant'] = session.tenant.value;
  return h;
};

/** One call of the public API; a 4xx/5xx becomes an ApiError with the server's code and message. */
export async function api<T>(path: string, init: { method?: string; body?: unknown; query?: Record<string, string | number | boolean | undefined> } = {}): Promise<T> {
  const query = Object.entries(init.query ?? {}).filter(([, v]) => v !== undefined && v !== '');
  const url = query.length ? `${path}?${new URLSearchParams(query.map(([k, v]) => [k, String(v)]))}` : path;
  const response = await fetch(url, {
    method: init.method ?? 'GET',
    headers: headers(init.body === undefined ? {} : { 'content-type': 'application/json' }),
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    signal: AbortSignal.timeout(30_000), // a hung call becomes an error the page shows, not a spinner forever
  });
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  const body = text ? JSON.parse(text) : undefined;
  if (!response.ok) {
    const error = body?.error ?? {};
    if (response.status === 401 && session.mode.value !== 'unknown') signOut();
    throw new ApiError(response.status, error.code ?? 'http_error', error.message ?? `${response.status} ${response.statusText}`);
  }
  return body as T;
}

const IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

/**
 * A media file of the API as an object URL (revoke it when done). A customer's file is theirs, not the dashboard's:
 * only raster images keep their type (for an <img>); anything else becomes an opaque download, never a page of
 * this origin (an HTML or SVG "document" would run here otherwise).
 */
export async function blobUrl(path: string): Promise<{ url: string; image: boolean }> {
  const response = await fetch(path, { headers: headers(), signal: AbortSignal.timeout(60_000) });
  if (!response.ok) throw new ApiError(response.status, 'media_unavailable', `The media could not be fetched (${response.status}).`);
  const blob = await response.blob();
  const image = IMAGE_TYPES.has(blob.type.split(';')[0]!.trim().toLowerCase());
  return { url: URL.createObjectURL(image ? blob : new Blob([blob], { type: 'application/octet-stream' })), image };
}

/** Finds out whether this server opens without a key, and whether the stored key is the admin key (GET /v1/me). */
export async function probe(): Promise<void> {
  let me: { access: 'key' | 'admin' | 'open'; tenant: string };
  try {
    me = await api('/v1/me');
  } catch (error) {
    if (error instanceof ApiError && error.status === 401 && session.key.value && session.mode.value === 'unknown') {
      // A key kept from before (revoked, or the server now runs without keys): forget it and ask again.
      forget();
      return probe();
    }
    session.mode.value = 'signed-out';
    if (error instanceof ApiError && error.status !== 401) throw error;
    return;
  }
  session.mode.value = me.access;
}

export async function signIn(key: string): Promise<void> {
  session.key.value = key;
  session.tenant.value = null;
  sessionStorage.setItem('colloquy.key', key);
  sessionStorage.removeItem('colloquy.tenant');
  await probe();
  if (session.mode.value === 'signed-out') {
    signOut();
    // Still signed out: the form stays, with this message.
    throw new ApiError(401, 'unauthenticated', 'That key was refused: check it, or ask for a new one.');
  }
}

function forget(): void {
  session.key.value = null;
  session.tenant.value = null;
  sessionStorage.removeItem('colloquy.key');
  sessionStorage.removeItem('colloquy.tenant');
}

export function signOut(): void {
  forget();
  session.mode.value = 'signed-out';
}

/** The admin key's tenant (null: back to the picker). */
export function pickTenant(tenant: string | null): void {
  session.tenant.value = tenant;
  if (tenant === null) sessionStorage.removeItem('colloquy.tenant');
  else sessionStorage.setItem('colloquy.tenant', tenant);
}

/** Every page of a list endpoint (for the small lists: channels, agents, webhooks). */
export async function all<T>(path: string, query: Record<string, string> = {}): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | undefined;
  do {
    const page = await api<{ data: T[]; nextCursor: string | null }>(path, { query: { ...query, limit: 200, cursor } });
    out.push(...page.data);
    cursor = page.nextCursor ?? undefined;
  } while (cursor && out.length < 2_000);
  return out;
}

export const agentsList = () => all<Agent>('/v1/agents');
export const openAlerts = () => api<{ data: Alert[] }>('/v1/alerts', { query: { status: 'open', limit: 200 } });
