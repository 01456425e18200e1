import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startFakeSmtp } from '../fakes/fake-smtp.js';
import { startServer } from '../helpers/server-process.js';
import { waitFor } from '../helpers/wait.js';

// The outside-world settings as an operator sets them: environment variables of `colloquy serve`, taking effect.
const dir = mkdtempSync(join(tmpdir(), 'colloquy-serve-settings-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const json = async (url: string, init: RequestInit = {}) => {
  const response = await fetch(url, { ...init, headers: { 'content-type': 'application/json', ...init.headers } });
  return { status: response.status, body: (await response.json()) as any };
};

describe('colloquy serve configured by its environment', () => {
  it('backs up into COLLOQUY_BACKUP_DIR at start keeping COLLOQUY_BACKUP_KEEP, keeps COLLOQUY_TRASH_DAYS, counts days in COLLOQUY_REPORT_TZ', async () => {
    const backups = join(dir, 'backups');
    // Three older backups there already: COLLOQUY_BACKUP_KEEP=2 leaves the new one and the newest of them.
    mkdirSync(backups, { recursive: true });
    for (const day of ['01', '02', '03']) writeFileSync(join(backups, `colloquy-backup-2020-01-${day}T00-00-00-000Z.jsonl.gz`), '');
    const server = await startServer(`sqlite:${join(dir, 'a.db')}`, [], {
      COLLOQUY_BACKUP_DIR: backups, COLLOQUY_BACKUP_EVERY: '6h', COLLOQUY_BACKUP_KEEP: '2', COLLOQUY_TRASH_DAYS: '3', COLLOQUY_REPORT_TZ: 'America/Sao_Paulo',
    });
    try {
      const fresh = () => readdirSync(backups).filter((f) => f.endsWith('.jsonl.gz') && !f.includes('2020-01-'));
      await waitFor('the first backup, and the old ones pruned', () => fresh().length === 1 && readdirSync(backups).length === 2, 30_000);
      expect(statSync(join(backups, fresh()[0]!)).mode & 0o777).toBe(0o600);
      expect(readdirSync(backups).sort()).toEqual(['colloquy-backup-2020-01-03T00-00-00-000Z.jsonl.gz', fresh()[0]]);

      const created = await json(`${server.url}/v1/conversations`, { method: 'POST', body: '{}' });
      expect((await fetch(`${server.url}/v1/conversations/${created.body.id}`, { method: 'DELETE' })).status).toBeLessThan(300);
      const trashed = await json(`${server.url}/v1/trash/${created.body.id}`);
      expect(Date.parse(trashed.body.purgeAt) - Date.parse(trashed.body.deletedAt)).toBe(3 * 86_400_000);

      const report = await json(`${server.url}/v1/reports/daily`);
      expect(report.status).toBe(200);
      expect(report.body.timezone).toBe('America/Sao_Paulo');
      expect(report.body.from).toMatch(/T03:00:00\.000Z$/); // midnight in São Paulo (UTC−3, no daylight saving)
    } finally {
      await server.stop();
    }
  });

  it('e-mails a failed backup to COLLOQUY_ALERT_EMAILS through COLLOQUY_SMTP_URL', async () => {
    const smtp = await startFakeSmtp();
    const blocked = join(dir, 'a-file');
    writeFileSync(blocked, 'not a directory');
    const server = await startServer(`sqlite:${join(dir, 'b.db')}`, [], {
      COLLOQUY_BACKUP_DIR: join(blocked, 'backups'), COLLOQUY_SMTP_URL: smtp.url, COLLOQUY_ALERT_EMAILS: 'admin@ops.test, oncall@ops.test',
    });
    try {
      await waitFor('the alert e-mailed', () => smtp.mails.length >= 1, 30_000);
      expect(smtp.mails[0]).toMatchObject({ to: ['admin@ops.test', 'oncall@ops.test'] });
      expect(smtp.mails[0]!.subject).toMatch(/backup/i);
    } finally {
      await server.stop();
      await smtp.close();
    }
  });
});
