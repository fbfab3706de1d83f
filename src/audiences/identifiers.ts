/**
 * Identifiers for ad-platform customer-match uploads: normalized, then SHA-256 hashed (hex),
 * as Google and Meta require. Emails: trimmed and lower-cased. Phones: E.164 (`+` and
 * digits), with a default country code for numbers written without one.
 */
import { createHash } from 'node:crypto';

export function sha256Hex(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('hex');
}

export function normalizeEmail(raw: string | null): string | null {
  if (raw === null) return null;
  const e = raw.trim().toLowerCase();
  return /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(e) ? e : null;
}

/** E.164: "+" then 8-15 digits. "(555) 123-4567" with default code 1 -> "+15551234567"; "00 44 ..." -> "+44...". */
export function normalizePhone(raw: string | null, defaultCountryCode?: string): string | null {
  if (raw === null) return null;
  const t = raw.trim();
  let digits = t.replace(/\D/g, '');
  if (t.startsWith('+')) {
    // already international
  } else if (digits.startsWith('00')) digits = digits.slice(2);
  else if (defaultCountryCode) digits = defaultCountryCode.replace(/\D/g, '') + digits.replace(/^0+/, '');
  else return null;
  return digits.length >= 8 && digits.length <= 15 ? `+${digits}` : null;
}
