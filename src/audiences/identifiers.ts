/**
 * Identifiers for ad-platform customer-match uploads, normalized by each platform's published
 * rules and then SHA-256 hashed (lower-case hex):
 * - Google Ads Customer Match: email trimmed and lower-cased; phone in E.164 with the "+"
 *   ("+14155550100").
 * - Meta Custom Audiences: email trimmed and lower-cased; phone as digits only, country code
 *   included, no "+" or leading zeros ("14155550100").
 * Phone numbers are parsed and validated by libphonenumber-js (the JavaScript port of Google's
 * libphonenumber, "max" metadata): trunk prefixes such as "(0)" are dropped, extensions are
 * not part of the number, and numbers that are not valid for their country are refused.
 */
import { createHash } from 'node:crypto';
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import { canonicalId } from '../io/ids.js';
import metadata from 'libphonenumber-js/max/metadata';

/** The ad platforms an activation file can be written for. */
export const PLATFORMS = ['google', 'meta'] as const;
export type Platform = (typeof PLATFORMS)[number];

/** SHA-256 of the UTF-8 bytes of `s`, as 64 lower-case hex digits. */
export function sha256Hex(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('hex');
}

/**
 * A raw identifier cell as text: strings as they are, integral numbers without a fraction or
 * exponent (a phone stored as DOUBLE 14155550100 is "14155550100"), null for empty values.
 */
export function identifierText(raw: unknown): string | null {
  if (typeof raw === 'number' || typeof raw === 'bigint') return canonicalId(raw);
  if (typeof raw === 'string') return raw.trim() === '' ? null : raw;
  return null;
}

/**
 * An address as matching takes it: a local part of RFC 5322 atext characters and single dots
 * (no leading or trailing dot), "@", and a domain of letter/digit/hyphen labels ending in a
 * top-level label of letters or punycode (so "<a@x.com>", "a@x.com." and "a@x" are not addresses).
 */
const EMAIL = /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+([a-z]{2,}|xn--[a-z0-9-]+)$/;

/**
 * Email for matching: trimmed, lower-cased; null when it is not an address (see EMAIL; such a
 * value is counted as invalid, never hashed as written). Same rule for Google and Meta.
 */
export function normalizeEmail(raw: string | null): string | null {
  if (raw === null) return null;
  const e = raw.trim().toLowerCase();
  return EMAIL.test(e) ? e : null;
}

/**
 * Phone in E.164 ("+" then the country code and national number), or null when it is not a
 * valid number. `defaultCountry` applies to numbers written without an international prefix:
 * a calling code ("1", "+44") or an ISO 3166 region ("US", "GB").
 * @throws nothing; an unparseable value is null.
 */
export function normalizePhone(raw: string | null, defaultCountry?: string): string | null {
  if (raw === null || raw.trim() === '') return null;
  const d = defaultCountry?.trim();
  const options = !d ? {} : /^[A-Za-z]{2}$/.test(d) ? { defaultCountry: d.toUpperCase() as CountryCode } : regionOf(d.replace(/\D/g, ''));
  try {
    const p = parsePhoneNumberFromString(raw, options);
    return p && p.isValid() ? p.number : null;
  } catch {
    return null;
  }
}

/**
 * A calling code's main region ("1" is US, "44" is GB), so that numbers dialled with that
 * region's international prefix ("011 44 20 ...") parse too; the code alone where it has none.
 */
function regionOf(code: string): { defaultCountry: CountryCode } | { defaultCallingCode: string } {
  const main = (metadata as { country_calling_codes: Record<string, string[]> }).country_calling_codes[code]?.[0];
  return main && main !== '001' ? { defaultCountry: main as CountryCode } : { defaultCallingCode: code };
}

/** An E.164 phone as the platform matches it: Google keeps the "+", Meta wants digits only. */
export function phoneForPlatform(e164: string, platform: Platform): string {
  return platform === 'meta' ? e164.replace(/^\+/, '') : e164;
}

/** True when a default country is a calling code (1-3 digits, optional "+") or a two-letter region. */
export function isDefaultCountry(s: string): boolean {
  return /^\+?\d{1,3}$/.test(s.trim()) || /^[A-Za-z]{2}$/.test(s.trim());
}
