import type { ChannelKind } from './entities.js';
import { ColloquyError } from './errors.js';

// Format characters (zero-width spaces and joiners, bidi controls such as U+202E, the BOM) are invisible: two
// addresses that differ only by them look the same to every person.
const INVISIBLE = /\p{Cf}/gu;
// What people write around a phone number: spaces, dashes, dots, slashes, parentheses, a leading +.
const PHONE_PUNCTUATION = /[\s\-.()/+]/g;
// A WhatsApp JID (`5511987654321@s.whatsapp.net`, `…@c.us`, a device suffix `:12`): the number is before the @.
const JID = /^(\d+)(?::\d+)?@(?:s\.whatsapp\.net|c\.us)$/i;

/** Any script's decimal digits (Arabic-Indic ٠١٢, Devanagari ०१२, …) as ASCII; NFKC folds only the compatibility ones. */
function asciiDigits(text: string): string {
  return text.replace(/\p{Nd}/gu, (digit) => {
    const code = digit.codePointAt(0)!;
    let zero = code;
    // Unicode lays every script's digits out as runs of ten from its zero.
    while (zero > 0 && /\p{Nd}/u.test(String.fromCodePoint(zero - 1)) && code - zero < 9) zero--;
    return String((code - zero) % 10);
  });
}

/**
 * The one spelling of an address, so that one person is one contact however a channel or a caller wrote it:
 * for every kind Unicode NFKC (which folds full-width digits), without invisible or bidi control characters,
 * trimmed; a WhatsApp address is a phone number in digits only (E.164 without `+`; a JID's number, any script's
 * digits, a leading 00 dropped); a Telegram one a numeric chat id. Throws `invalid_argument` for an address that cannot be one of its kind.
 */
export function normalizeAddress(kind: ChannelKind | undefined, address: string, field = '/address'): string {
  const plain = address.normalize('NFKC').replace(INVISIBLE, '').trim();
  if (kind === 'whatsapp') {
    const jid = JID.exec(plain);
    // 00 is the international prefix people dial; no E.164 number starts with 0.
    const digits = (jid ? jid[1]! : asciiDigits(plain).replace(PHONE_PUNCTUATION, '')).replace(/^00/, '');
    if (!/^\d{1,15}$/.test(digits)) {
      throw invalid(field, `A WhatsApp address is a phone number in international form, digits only (E.164 without +), such as 5511987654321; got "${address}".`);
    }
    return digits;
  }
  if (kind === 'telegram') {
    if (!/^-?\d{1,20}$/.test(plain)) throw invalid(field, `A Telegram address is the numeric chat id (negative for groups), such as 123456789; got "${address}".`);
    return plain;
  }
  if (plain === '') throw invalid(field, 'The address is empty once invisible characters and spaces are removed.');
  return plain;
}

const invalid = (path: string, message: string) => new ColloquyError('invalid_argument', `Invalid address: ${message}`, { errors: [{ path, message: 'is not an address of its kind' }] });
