const rtf = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });

/** "3 minutes ago", for a time within a week; a date beyond. */
export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return 'never';
  const seconds = Math.round((Date.parse(iso) - now) / 1000);
  const abs = Math.abs(seconds);
  if (abs < 45) return 'just now';
  if (abs < 3600) return rtf.format(Math.round(seconds / 60), 'minute');
  if (abs < 86_400) return rtf.format(Math.round(seconds / 3600), 'hour');
  if (abs < 7 * 86_400) return rtf.format(Math.round(seconds / 86_400), 'day');
  return new Date(iso).toLocaleDateString();
}

export const time = (iso: string | null | undefined): string => (iso ? new Date(iso).toLocaleString() : '—');
export const num = (n: number | null | undefined): string => (n === null || n === undefined ? '—' : n.toLocaleString('en'));
export const money = (n: number | null | undefined): string => (n === null || n === undefined ? '—' : `$${n.toFixed(n < 1 ? 4 : 2)}`);
export const short = (id: string | null | undefined): string => (id ? id.slice(0, 8) : '—');
