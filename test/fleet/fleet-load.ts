import { expect } from 'vitest';

/**
 * A fleet workload: workers write on one instance and read on another, and every read must show every
 * write acknowledged before the read was sent (read-your-writes across instances, no stale reads).
 */
export interface FleetLoad {
  requests: number;
  failures: string[];
  stale: string[];
}

type Json = Record<string, any>;

async function call(base: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: Json }> {
  const response = await fetch(`${base}/v1${path}`, {
    method,
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : {} };
}

export async function fleetSetup(base: string, shared: number, workers: number) {
  const create = async () => (await call(base, 'POST', '/conversations', {})).body.id as string;
  return {
    shared: await Promise.all(Array.from({ length: shared }, create)),
    own: await Promise.all(Array.from({ length: workers }, create)),
  };
}

/** Runs `workers` loops over the instances until `until()` says stop (or `iterations` each), checking every read. */
export async function runFleetLoad(
  instances: string[],
  conversations: { shared: string[]; own: string[] },
  options: { iterations?: number; until?: () => boolean },
): Promise<FleetLoad> {
  const load: FleetLoad = { requests: 0, failures: [], stale: [] };
  const ackedSeq = new Map<string, number>();
  const ackedVersion = new Map<string, number>();
  const request = async (base: string, method: string, path: string, body?: unknown) => {
    load.requests++;
    try {
      const result = await call(base, method, path, body);
      if (result.status >= 300) load.failures.push(`${method} ${path} → ${result.status} ${JSON.stringify(result.body)}`);
      return result.status < 300 ? result.body : undefined;
    } catch (error) {
      load.failures.push(`${method} ${path} → ${(error as Error).message}`);
      return undefined;
    }
  };
  const raise = (map: Map<string, number>, id: string, value: number) => map.set(id, Math.max(map.get(id) ?? 0, value));

  await Promise.all(conversations.own.map(async (own, worker) => {
    let stateVersion = 0;
    for (let i = 0; options.iterations === undefined ? !options.until!() : i < options.iterations; i++) {
      const w = instances[(worker + i) % instances.length]!;
      const r = instances[(worker + i + 1) % instances.length]!;
      const id = conversations.shared[(worker * 7 + i) % conversations.shared.length]!;
      const roll = (worker * 31 + i * 17) % 10;
      if (roll < 6) {
        const appended = await request(w, 'POST', `/conversations/${id}/messages`, { role: 'user', content: `w${worker} i${i}` });
        if (!appended) continue;
        raise(ackedSeq, id, appended.message.seq);
        const floor = ackedSeq.get(id)!;
        const page = await request(r, 'GET', `/conversations/${id}/messages?order=desc&limit=20`);
        const newest = page?.data[0]?.seq ?? 0;
        if (page && newest < floor) load.stale.push(`page of ${id}: newest seq ${newest} after seq ${floor} was acknowledged`);
        const mine = page?.data.find((m: Json) => m.seq === appended.message.seq);
        if (page && newest - appended.message.seq < 20 && mine?.id !== appended.message.id) load.stale.push(`page of ${id} lacks message ${appended.message.seq}`);
        const seqs = (page?.data ?? []).map((m: Json) => m.seq);
        if (seqs.some((seq: number, k: number) => k > 0 && seq !== seqs[k - 1] - 1)) load.stale.push(`page of ${id} has a gap: ${seqs.join(',')}`);
        const conversation = await request(r, 'GET', `/conversations/${id}`);
        if (conversation && conversation.lastSeq < floor) load.stale.push(`conversation ${id}: lastSeq ${conversation.lastSeq} after seq ${floor} was acknowledged`);
      } else if (roll < 8) {
        const updated = await request(w, 'PATCH', `/conversations/${id}`, { title: `w${worker} i${i}` });
        if (!updated) continue;
        raise(ackedVersion, id, updated.version);
        const floor = ackedVersion.get(id)!;
        const conversation = await request(r, 'GET', `/conversations/${id}`);
        if (conversation && conversation.version < floor) load.stale.push(`conversation ${id}: version ${conversation.version} after version ${floor} was acknowledged`);
      } else {
        const set = await request(w, 'PUT', `/conversations/${own}/state`, { state: `s${i}`, data: { i }, expectedVersion: stateVersion });
        if (!set) continue;
        stateVersion = set.version;
        const state = await request(r, 'GET', `/conversations/${own}/state`);
        if (state && (state.version !== stateVersion || state.data.i !== i)) load.stale.push(`state of ${own}: version ${state.version} after ${stateVersion} was acknowledged`);
      }
    }
  }));
  return load;
}

/** After the load: every instance's cached reads equal the database's uncached ones. */
export async function expectConverged(instances: string[], conversations: { shared: string[]; own: string[] }): Promise<void> {
  for (const id of [...conversations.shared, ...conversations.own]) {
    const truth = (await call(instances[0]!, 'GET', `/conversations/${id}/messages?order=desc&limit=20&before=999999999`)).body.data;
    for (const base of instances) {
      const cached = (await call(base, 'GET', `/conversations/${id}/messages?order=desc&limit=20`)).body.data;
      expect(cached).toEqual(truth);
      const conversation = (await call(base, 'GET', `/conversations/${id}`)).body;
      expect(conversation.lastSeq).toBe(truth[0]?.seq ?? 0);
    }
  }
}
