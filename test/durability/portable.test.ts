import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { doctor } from '../../src/cli/doctor.js';
import { exportTo, importFrom } from '../../src/cli/portable.js';
import { loadMigrations } from '../../src/backends/sql/migrations.js';
import { createSqliteBackend } from '../../src/backends/sqlite/sqlite-backend.js';
import { openStore } from '../../src/index.js';
import { expectError } from '../conformance/store-conformance.js';
import { POSTGRES_URL, postgresAvailable, throwawaySchema } from '../helpers/services.js';

/** Two tenants with every kind of record: handles, closed and linked conversations, state, message payloads. */
async function seed(url: string) {
  const root = await openStore({ url });
  for (const tenant of ['clinic', 'shop']) {
    const store = root.tenant(tenant);
    const channel = await store.channels.create({ kind: 'whatsapp', name: `${tenant} line`, config: { reopenWindowSeconds: 60, phoneNumberId: '55' } });
    const agent = await store.agents.create({ name: 'bot', model: 'openai:gpt-4o-mini', params: { temperature: 0.3 } });
    const first = await store.ingest({ channelId: channel.id, from: { address: '5511', name: 'Ana' }, externalId: `${tenant}-1`, content: 'oi' });
    const reply = await store.messages.append(first.conversation.id, {
      role: 'assistant', content: 'Olá!', parts: [{ type: 'buttons', options: ['a', 'b'] }], intent: 'greet', confidence: 0.9,
      entities: { name: 'Ana' }, metadata: { model: 'x' }, idempotencyKey: 'r1',
    });
    // Sent (a reply still waiting in the outbox comes back failed: see the backup tests).
    await store.messages.updateStatus(reply.message.id, 'sent');
    await store.state.set(first.conversation.id, { state: 'ask', data: { patient: 'Ana' }, expectedVersion: 0 });
    await store.conversations.markRead(first.conversation.id, { seq: 1 });
    await store.conversations.update(first.conversation.id, { status: 'closed', agentId: agent.id });
    await store.ingest({ channelId: channel.id, from: { address: '5511' }, externalId: `${tenant}-2`, content: 'de novo', timestamp: Date.now() + 3_600_000 });
    await store.contacts.upsert({ handle: { channel: 'telegram', address: '42' }, metadata: { vip: true } });
  }
  await root.close();
}

const exported = async (url: string, name: string) => {
  const file = join(tmpdir(), `colloquy-${process.pid}-${name}`);
  await exportTo(url, file);
  return file;
};

const recordsOf = (file: string) => readFileSync(file, 'utf8').trim().split('\n').slice(1).map((line) => JSON.parse(line));

describe('colloquy export and import', () => {
  const dir = mkdtempSync(join(tmpdir(), 'colloquy-portable-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('round-trips every record between databases; importing twice changes nothing', async () => {
    const source = `sqlite:${join(dir, 'source.db')}`;
    await seed(source);
    const file = join(dir, 'export.jsonl');
    const exported = await exportTo(source, file);
    const records = recordsOf(file);
    expect(records).toHaveLength(exported);
    expect(records.map((r) => r.kind)).toEqual([...records.map((r) => r.kind)].sort((a, b) =>
      ['channel', 'agent', 'contact', 'conversation', 'message'].indexOf(a) - ['channel', 'agent', 'contact', 'conversation', 'message'].indexOf(b)));

    const target = `sqlite:${join(dir, 'target.db')}`;
    expect(await importFrom(target, file)).toEqual({ inserted: exported, present: 0, merged: 0, skipped: 0, closed: 0, adjusted: 0, notes: [] });
    expect(await importFrom(target, file)).toEqual({ inserted: 0, present: exported, merged: 0, skipped: 0, closed: 0, adjusted: 0, notes: [] });
    const again = join(dir, 'again.jsonl');
    await exportTo(target, again);
    expect(recordsOf(again)).toEqual(records);

    // The imported data is live: seq continues, duplicates are still recognised.
    const store = (await openStore({ url: target })).tenant('clinic');
    // The read marker came along; the unread count is the target's own reading of it.
    expect((await store.conversations.list({ status: 'closed' })).data[0]).toMatchObject({ lastSeq: 2, readSeq: 1, unreadCount: 1 });
    const open = (await store.conversations.list({ status: 'open' })).data[0]!;
    expect((await store.messages.append(open.id, { role: 'assistant', content: 'next' })).message.seq).toBe(open.lastSeq + 1);
    const channel = (await store.channels.list()).data[0]!;
    expect((await store.ingest({ channelId: channel.id, from: { address: '5511' }, externalId: 'clinic-1', content: 'oi' })).duplicate).toBe(true);
    await store.close();
  });

  it('imports an export of an earlier version: the fields added since are filled in as a row without them reads', async () => {
    const source = `sqlite:${join(dir, 'older-source.db')}`;
    await seed(source);
    const file = join(dir, 'older.jsonl');
    const count = await exportTo(source, file);
    const [header, ...lines] = readFileSync(file, 'utf8').trim().split('\n');
    const older = lines.map((line) => {
      const record = JSON.parse(line);
      for (const field of ['agentPaused', 'chatId', 'readSeq', 'unreadCount', 'sender', 'error', 'edits', 'tokens', 'usage']) delete record.data[field];
      return JSON.stringify(record);
    });
    const olderFile = join(dir, 'older-stripped.jsonl');
    writeFileSync(olderFile, `${[header, ...older].join('\n')}\n`);
    const target = `sqlite:${join(dir, 'older-target.db')}`;
    expect(await importFrom(target, olderFile)).toMatchObject({ inserted: count, skipped: 0 });
    const store = (await openStore({ url: target })).tenant('clinic');
    const conversation = (await store.conversations.list()).data[0]!;
    expect(conversation).toMatchObject({ agentPaused: false, chatId: null, readSeq: 0, unreadCount: conversation.lastSeq });
    expect((await store.messages.list(conversation.id)).data[0]).toMatchObject({ sender: null, tokens: null, usage: null });
    await store.close();
  });

  it("keeps a channel's idempotency key bound to its request, and audits the secrets it brings", async () => {
    const source = `sqlite:${join(dir, 'keyed-source.db')}`;
    const store = await openStore({ url: source });
    await store.channels.create({ kind: 'web', name: 'site', secrets: { token: 'tok-1' }, idempotencyKey: 'setup-site' });
    await store.close();
    const file = join(dir, 'keyed.jsonl');
    await exportTo(source, file, { includeSecrets: true });
    const target = `sqlite:${join(dir, 'keyed-target.db')}`;
    expect(await importFrom(target, file)).toMatchObject({ inserted: 1 });
    const moved = await openStore({ url: target });
    try {
      const [entry] = (await moved.audit.list()).data;
      expect(entry).toMatchObject({ actor: 'cli', action: 'channel.secrets_changed', details: { set: ['token'], removed: [], by: 'import' } });
      expect((await moved.channels.ensure({ kind: 'web', name: 'site', secrets: { token: 'tok-1' }, idempotencyKey: 'setup-site' })).created).toBe(false);
      await expectError(moved.channels.create({ kind: 'web', name: 'another', idempotencyKey: 'setup-site' }), 'idempotency_key_reused');
    } finally {
      await moved.close();
    }
  });

  it('moves a database from SQLite to PostgreSQL', async (ctx) => {
    if (!(await postgresAvailable())) return ctx.skip();
    const source = `sqlite:${join(dir, 'to-pg.db')}`;
    await seed(source);
    const file = join(dir, 'to-pg.jsonl');
    const exported = await exportTo(source, file);
    const { schema, drop } = await throwawaySchema();
    try {
      const target = `${POSTGRES_URL}?schema=${schema}`;
      expect((await importFrom(target, file)).inserted).toBe(exported);
      expect((await importFrom(target, file)).inserted).toBe(0);
      const back = join(dir, 'from-pg.jsonl');
      await exportTo(target, back);
      expect(recordsOf(back)).toEqual(recordsOf(file));
    } finally {
      await drop();
    }
  });

  it('imports a newer export of the same database as a delta: lastSeq follows, appends keep working', async () => {
    const source = `sqlite:${join(dir, 'delta-source.db')}`;
    await seed(source);
    const target = `sqlite:${join(dir, 'delta-target.db')}`;
    await importFrom(target, await exported(source, 'delta-1.jsonl'));
    const src = (await openStore({ url: source })).tenant('clinic');
    const open = (await src.conversations.list({ status: 'open' })).data[0]!;
    for (let i = 0; i < 3; i++) await src.messages.append(open.id, { role: 'assistant', content: `later ${i}` });
    await src.close();
    const second = await importFrom(target, await exported(source, 'delta-2.jsonl'));
    expect(second.inserted).toBe(3);
    const dst = (await openStore({ url: target })).tenant('clinic');
    expect((await dst.conversations.get(open.id))!.lastSeq).toBe(open.lastSeq + 3);
    expect((await dst.messages.append(open.id, { role: 'user', content: 'next' })).message.seq).toBe(open.lastSeq + 4);
    await dst.close();
    expect((await doctor(target)).ok).toBe(true);
  });

  it('settles two open conversations of one contact and channel by the rule, and skips only what crosses a tenant, saying why', async () => {
    const source = `sqlite:${join(dir, 'skip-source.db')}`;
    await seed(source);
    const file = await exported(source, 'skip.jsonl');
    const target = `sqlite:${join(dir, 'skip-target.db')}`;
    // The target already has an open conversation for the same contact and channel as the source's open one.
    await importFrom(target, file);
    const dst = (await openStore({ url: target })).tenant('clinic');
    const open = (await dst.conversations.list({ status: 'open' })).data.find((c) => c.contactId !== null)!;
    await dst.conversations.delete(open.id);
    const rival = await dst.conversations.create({ contactId: open.contactId!, channelId: open.channelId! });
    await dst.state.set(rival.id, { state: 'mine', expectedVersion: 0 });
    const before = (await dst.events.list({ limit: 1000 })).data.length;
    const again = await importFrom(target, file);
    // The imported one was active later (the seed's last message is an hour ahead): the rival is closed.
    expect(again).toMatchObject({ inserted: 1 + open.lastSeq, skipped: 0, closed: 1, notes: [] });
    expect(again.inserted + again.present + again.merged + again.skipped).toBe(recordsOf(file).length);
    expect(await dst.conversations.get(open.id)).toMatchObject({ status: 'open', lastSeq: open.lastSeq });
    expect(await dst.conversations.get(rival.id)).toMatchObject({ status: 'closed', version: rival.version + 1 });
    expect((await dst.state.get(rival.id)).state).toBe('mine');
    const events = (await dst.events.list({ limit: 1000 })).data.slice(before);
    expect(events).toMatchObject([{ type: 'conversation.updated', conversationId: rival.id, data: { status: 'closed', changed: ['status'] } }]);
    await dst.close();

    // The same file with its tenant rewritten: every id already belongs to another tenant.
    const rewritten = join(dir, 'rewritten.jsonl');
    writeFileSync(rewritten, readFileSync(file, 'utf8').replaceAll('"tenant":"clinic"', '"tenant":"intruder"'));
    const moved = await importFrom(target, rewritten);
    expect(moved.inserted).toBe(0);
    expect(moved.inserted + moved.present + moved.merged + moved.skipped).toBe(recordsOf(file).length);
    expect(moved.notes[0]).toMatch(/^channel [0-9a-f-]{36} \(tenant intruder\) skipped: its id is that of a channel of another tenant$/);
    const intruder = (await openStore({ url: target })).tenant('intruder');
    expect((await intruder.contacts.list()).data).toEqual([]);
    expect(await intruder.contacts.findByHandle({ channel: 'whatsapp', address: '5511' })).toBeNull();
    await intruder.close();
    expect((await doctor(target)).ok).toBe(true);
  });

  it('merges a contact whose handle is already there by the contact-merge rule, and a dry run writes nothing', async () => {
    const source = `sqlite:${join(dir, 'merge-source.db')}`;
    const target = `sqlite:${join(dir, 'merge-target.db')}`;
    // The target's Ana wrote first (older: she survives); its Telegram contact 42 comes after the source's (newer: it is merged away).
    const early = (await openStore({ url: target })).tenant('clinic');
    const line = await early.channels.create({ kind: 'whatsapp', name: 'target line' });
    const ana = await early.ingest({ channelId: line.id, from: { address: '5511', name: 'Ana (target)' }, externalId: 't-1', content: 'olá' });
    await early.close();
    await seed(source);
    const late = (await openStore({ url: target })).tenant('clinic');
    const bo = await late.contacts.upsert({ handle: { channel: 'telegram', address: '42' }, name: 'Bo', metadata: { from: 'target' } });
    const boConversation = await late.conversations.create({ contactId: bo.id, title: 'Bo talks' });
    await late.close();
    const file = await exported(source, 'merge.jsonl');
    const records = recordsOf(file);
    const sourceAna = records.find((r) => r.kind === 'contact' && r.tenant === 'clinic' && r.data.handles.some((h: { address: string }) => h.address === '5511')).data;
    const sourceBo = records.find((r) => r.kind === 'contact' && r.tenant === 'clinic' && r.data.handles.some((h: { address: string }) => h.address === '42')).data;

    const dry = await importFrom(target, file, { dryRun: true });
    expect(dry).toMatchObject({ merged: 2, skipped: 0, notes: [] });
    expect(dry.inserted + dry.present + dry.merged + dry.skipped).toBe(records.length);
    let store = (await openStore({ url: target })).tenant('clinic');
    expect((await store.contacts.list()).data.map((c) => c.id).sort()).toEqual([ana.conversation.contactId!, bo.id].sort());
    expect((await store.channels.list()).data.map((c) => c.id)).toEqual([line.id]);
    await store.close();

    const report = await importFrom(target, file);
    expect(report).toEqual(dry);
    store = (await openStore({ url: target })).tenant('clinic');
    // Ana: the target's contact survives with both handles' conversations; the source's id is gone.
    const survivor = (await store.contacts.findByHandle({ channel: 'whatsapp', address: '5511' }))!;
    expect(survivor).toMatchObject({ id: ana.conversation.contactId!, name: 'Ana (target)' });
    expect(await store.contacts.get(sourceAna.id)).toBeNull();
    const anaConversations = (await store.conversations.list({ contactId: ana.conversation.contactId!, limit: 100 })).data;
    expect(anaConversations.map((c) => c.id)).toEqual(expect.arrayContaining([ana.conversation.id, ...records.filter((r) => r.kind === 'conversation' && r.data.contactId === sourceAna.id).map((r) => r.data.id)]));
    expect(anaConversations).toHaveLength(3);
    // Bo: the source's contact is older, so it survives and takes the target's Bo, his conversation and metadata.
    const bos = (await store.contacts.findByHandle({ channel: 'telegram', address: '42' }))!;
    expect(bos).toMatchObject({ id: sourceBo.id, name: 'Bo', metadata: { vip: true, from: 'target' } });
    expect(await store.contacts.get(bo.id)).toBeNull();
    expect(await store.conversations.get(boConversation.id)).toMatchObject({ contactId: sourceBo.id, version: boConversation.version + 1 });
    const merges = (await store.events.list({ limit: 1000 })).data.filter((e) => e.type === 'contact.merged').map((e) => e.data);
    expect(merges).toEqual(expect.arrayContaining([
      expect.objectContaining({ survivorId: ana.conversation.contactId!, mergedId: sourceAna.id }),
      expect.objectContaining({ survivorId: sourceBo.id, mergedId: bo.id, moved: [boConversation.id] }),
    ]));
    // New messages from Ana's number join her contact; importing the file again changes nothing.
    const next = await store.ingest({ channelId: line.id, from: { address: '5511' }, externalId: 't-2', content: 'oi de novo' });
    expect(next.conversation.id).toBe(ana.conversation.id);
    await store.close();
    const twice = await importFrom(target, file);
    expect(twice).toEqual({ inserted: 0, present: records.length, merged: 0, skipped: 0, closed: 0, adjusted: 0, notes: [] });
    expect((await doctor(target)).ok).toBe(true);
  });

  it('moves a merged database whole: a link to a later conversation is set once it is in', async () => {
    const url = `sqlite:${join(dir, 'links.db')}`;
    const store = await openStore({ url });
    const channel = await store.channels.create({ kind: 'whatsapp', name: 'line' });
    const first = await store.ingest({ channelId: channel.id, from: { address: '5511000000001' }, externalId: 'a1', content: 'oi' });
    const second = await store.ingest({ channelId: channel.id, from: { address: '5511000000002' }, externalId: 'b1', content: 'olá' });
    await store.ingest({ channelId: channel.id, from: { address: '5511000000001' }, externalId: 'a2', content: 'still here', timestamp: Date.now() + 60_000 }); // a's is active last
    const b = (await store.contacts.get(second.conversation.contactId!))!;
    // b's record from elsewhere, with a's number too: merged, and a's conversation (the older id) now follows b's (the newer).
    await store.importAll([{ kind: 'contact', tenant: store.tenantId, data: { ...b, handles: [...b.handles, { channel: 'whatsapp', address: '5511000000001' }] } }]);
    const linked = (await store.conversations.get(first.conversation.id))!;
    expect(linked).toMatchObject({ status: 'open', previousConversationId: second.conversation.id });
    expect(linked.id < second.conversation.id).toBe(true); // exported before what it points to
    await store.close();
    const file = await exported(url, 'links.jsonl');
    const target = `sqlite:${join(dir, 'links-target.db')}`;
    expect(await importFrom(target, file)).toMatchObject({ inserted: recordsOf(file).length, skipped: 0, adjusted: 0 });
    const back = await exported(target, 'links-back.jsonl');
    expect(recordsOf(back)).toEqual(recordsOf(file));
  });

  it("takes an agent whose name is already there as that agent, keeping every conversation it answered", async () => {
    const source = `sqlite:${join(dir, 'agent-source.db')}`;
    await seed(source);
    const target = `sqlite:${join(dir, 'agent-target.db')}`;
    const early = (await openStore({ url: target })).tenant('clinic');
    const mine = await early.agents.create({ name: 'bot', model: 'openai:gpt-4o' }); // the seed's agent is named bot too
    await early.close();
    const file = await exported(source, 'agent.jsonl');
    const report = await importFrom(target, file);
    expect(report).toMatchObject({ merged: 1, skipped: 0 });
    expect(report.notes).toEqual([expect.stringMatching(new RegExp(`^agent .* merged with agent ${mine.id} of the same name`))]);
    const store = (await openStore({ url: target })).tenant('clinic');
    const answered = (await store.conversations.list({ agentId: mine.id })).data;
    expect(answered).toHaveLength(1);
    expect((await store.messages.list(answered[0]!.id)).data.length).toBeGreaterThan(0);
    await store.close();
  });

  it('a dry run writes nothing, not even a migration: a database that needs one says so', async () => {
    const path = join(dir, 'behind.db');
    const migrations = loadMigrations(new URL('../../src/backends/sqlite/migrations/', import.meta.url));
    const behind = await createSqliteBackend({ path, migrations: migrations.slice(0, -1) });
    await behind.admin.migrate();
    await behind.admin.close();
    const source = `sqlite:${join(dir, 'behind-source.db')}`;
    await seed(source);
    const file = await exported(source, 'behind.jsonl');
    const error = await expectError(importFrom(`sqlite:${path}`, file, { dryRun: true }), 'schema_outdated');
    expect(error.message).toMatch(/colloquy migrate/);
    const check = await createSqliteBackend({ path, migrations: migrations.slice(0, -1) });
    await check.admin.checkSchema(); // still exactly one migration behind
    await check.admin.close();
    await expectError(importFrom(`sqlite:${join(dir, 'nowhere.db')}`, file, { dryRun: true }), 'unavailable');
    expect(existsSync(join(dir, 'nowhere.db'))).toBe(false);
  });

  it('checks every line first: a bad file imports nothing and names the line', async () => {
    const source = `sqlite:${join(dir, 'bad-source.db')}`;
    await seed(source);
    const file = join(dir, 'bad.jsonl');
    await exportTo(source, file);
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    writeFileSync(file, [...lines, '{"kind":"message","tenant":"clinic","data":{"id":"nope"}}'].join('\n'));
    const target = `sqlite:${join(dir, 'bad-target.db')}`;
    const error = await expectError(importFrom(target, file), 'invalid_argument');
    expect(error.message).toContain(`bad.jsonl:${lines.length + 1}`);
    writeFileSync(file, [...lines.slice(0, 3), 'not json', ...lines.slice(3)].join('\n'));
    expect((await expectError(importFrom(target, file), 'invalid_argument')).message).toContain('bad.jsonl:4 is not JSON');
    // Data the database would refuse (a date that is none, a NUL PostgreSQL cannot store) is caught first, too.
    const contact = lines.findIndex((line) => line.includes('"kind":"contact"'));
    const breakings: Array<[(data: Record<string, any>) => void, RegExp]> = [
      [(data) => (data.createdAt = 'yesterday'), /\/createdAt must match format "date-time"/],
      [(data) => (data.metadata = { x: 'a\u0000b' }), /\/metadata\/x contains a NUL character/],
    ];
    for (const [breakIt, why] of breakings) {
      const record = JSON.parse(lines[contact]!);
      breakIt(record.data);
      writeFileSync(file, [...lines.slice(0, contact), JSON.stringify(record), ...lines.slice(contact + 1)].join('\n'));
      expect((await expectError(importFrom(target, file), 'invalid_argument')).message).toMatch(new RegExp(`bad\\.jsonl:${contact + 1} has a contact whose ${why.source}`));
    }
    // A read marker beyond the last message (the unread count would be negative); the file's unreadCount is never read.
    const conversation = lines.findIndex((line) => line.includes('"kind":"conversation"'));
    const marked = JSON.parse(lines[conversation]!);
    marked.data.readSeq = marked.data.lastSeq + 1;
    writeFileSync(file, [...lines.slice(0, conversation), JSON.stringify(marked), ...lines.slice(conversation + 1)].join('\n'));
    expect((await expectError(importFrom(target, file), 'invalid_argument')).message).toMatch(new RegExp(`bad\\.jsonl:${conversation + 1} has a conversation whose readSeq \\d+ is not between 0 and its lastSeq`));
    const store = await openStore({ url: target });
    expect((await store.channels.list()).data).toEqual([]);
    await store.close();
  });
});
