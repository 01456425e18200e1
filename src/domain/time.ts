/** Time formatting shared by the row mappers and the store: epoch milliseconds in storage, ISO-8601 outside. */

const DAY = 86_400_000;
const MAX_FOUR_DIGIT_YEAR = 253_402_300_800_000; // 10000-01-01T00:00:00.000Z
let cachedDay = Number.NaN;
let cachedPrefix = '';
const pad2 = (n: number): string => (n < 10 ? `0${n}` : `${n}`);
const pad3 = (n: number): string => (n < 10 ? `00${n}` : n < 100 ? `0${n}` : `${n}`);

/**
 * Epoch ms → ISO-8601, exactly as Date#toISOString. Reading a page formats two timestamps per message, and
 * toISOString costs about as much as the rest of the mapping, so the date part is cached per day.
 */
export function iso(ms: number): string {
  // A message's statusAt is usually its createdAt: formatted once.
  if (ms === lastMs) return lastIso;
  lastMs = ms;
  lastIso = format(ms);
  return lastIso;
}
let lastMs = Number.NaN;
let lastIso = '';

function format(ms: number): string {
  if (!(ms >= 0 && ms < MAX_FOUR_DIGIT_YEAR && Number.isInteger(ms))) return new Date(ms).toISOString();
  const day = ms - (ms % DAY);
  if (day !== cachedDay) {
    cachedDay = day;
    cachedPrefix = new Date(day).toISOString().slice(0, 11);
  }
  let rest = ms - day;
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = Math.floor(rest / 1000);
  return `${cachedPrefix}${pad2(hours)}:${pad2(minutes)}:${pad2(seconds)}.${pad3(rest - seconds * 1000)}Z`;
}
