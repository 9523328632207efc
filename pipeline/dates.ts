/**
 * Calendar helpers: dates as days since 1970-01-01 (UTC), parsed straight from
 * bytes so the CSV readers never build strings for them.
 *
 * @module
 */

/** Milliseconds in one day. */
export const MS_PER_DAY = 86_400_000;

/** Returns days since 1970-01-01 for a proleptic Gregorian civil date. */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (month + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** Returns `[year, month, day]` for days since 1970-01-01. */
export function civilFromDays(days: number): [number, number, number] {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return [yoe + era * 400 + (month <= 2 ? 1 : 0), month, day];
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Formats days since 1970-01-01 as `YYYY-MM-DD`. */
export function formatDate(days: number): string {
  const [y, m, d] = civilFromDays(days);
  return `${String(y).padStart(4, "0")}-${m < 10 ? "0" : ""}${m}-${d < 10 ? "0" : ""}${d}`;
}

/**
 * Parses `YYYY-MM-DD` to days since 1970-01-01.
 *
 * @throws {RangeError} when the text is not a valid date.
 */
export function parseDate(text: string): number {
  const bytes = new TextEncoder().encode(text.trim());
  const days = parseDateBytes(bytes, 0, bytes.length);
  if (Number.isNaN(days)) throw new RangeError(`Cannot parse date: "${text}"`);
  return days;
}

function digits(b: Uint8Array, at: number, n: number): number {
  let v = 0;
  for (let i = 0; i < n; i++) {
    const c = b[at + i] - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/**
 * Parses `YYYY-MM-DD` from `bytes[start, end)` (surrounding spaces allowed) to
 * days since 1970-01-01, or `NaN` when it is not a valid date.
 */
export function parseDateBytes(bytes: Uint8Array, start: number, end: number): number {
  while (start < end && bytes[start] === 32) start++;
  while (end > start && bytes[end - 1] === 32) end--;
  if (end - start !== 10 || bytes[start + 4] !== 45 || bytes[start + 7] !== 45) return NaN;
  const y = digits(bytes, start, 4), m = digits(bytes, start + 5, 2), d = digits(bytes, start + 8, 2);
  if (y < 0 || m < 1 || m > 12 || d < 1 || d > daysInMonth(y, m)) return NaN;
  return daysFromCivil(y, m, d);
}

/**
 * Parses an ISO-8601 date-time from `bytes[start, end)` to milliseconds since
 * the epoch (UTC), or `NaN` when invalid. Accepts `YYYY-MM-DD`, then optionally
 * `T` or a space and `HH:MM[:SS[.fff…]]`, then optionally `Z` or `±HH[:MM]`.
 * A time without a zone is taken as UTC.
 */
export function parseDateTimeBytes(bytes: Uint8Array, start: number, end: number): number {
  while (start < end && bytes[start] === 32) start++;
  while (end > start && bytes[end - 1] === 32) end--;
  if (end - start < 10) return NaN;
  const days = parseDateBytes(bytes, start, start + 10);
  if (Number.isNaN(days)) return NaN;
  let p = start + 10;
  let ms = days * MS_PER_DAY;
  if (p === end) return ms;
  const sep = bytes[p];
  if (sep !== 84 && sep !== 32 && sep !== 116) return NaN; // 'T', ' ', 't'
  p++;
  if (end - p < 5 || bytes[p + 2] !== 58) return NaN;
  const hh = digits(bytes, p, 2), mi = digits(bytes, p + 3, 2);
  if (hh < 0 || hh > 23 || mi < 0 || mi > 59) return NaN;
  ms += hh * 3_600_000 + mi * 60_000;
  p += 5;
  if (p < end && bytes[p] === 58) {
    if (end - p < 3) return NaN;
    const ss = digits(bytes, p + 1, 2);
    if (ss < 0 || ss > 60) return NaN;
    ms += ss * 1000;
    p += 3;
    if (p < end && (bytes[p] === 46 || bytes[p] === 44)) {
      p++;
      let scale = 100, frac = 0, n = 0;
      while (p < end && bytes[p] >= 48 && bytes[p] <= 57) {
        frac += (bytes[p] - 48) * scale;
        scale /= 10;
        p++;
        n++;
      }
      if (n === 0) return NaN;
      ms += Math.floor(frac);
    }
  }
  if (p === end) return ms;
  const z = bytes[p];
  if ((z === 90 || z === 122) && p + 1 === end) return ms; // 'Z'
  if (z !== 43 && z !== 45) return NaN;
  const sign = z === 43 ? 1 : -1;
  p++;
  const oh = digits(bytes, p, 2);
  if (oh < 0 || oh > 23) return NaN;
  p += 2;
  let om = 0;
  if (p < end) {
    if (bytes[p] === 58) p++;
    if (end - p !== 2) return NaN;
    om = digits(bytes, p, 2);
    if (om < 0 || om > 59) return NaN;
    p += 2;
  }
  if (p !== end) return NaN;
  return ms - sign * (oh * 3_600_000 + om * 60_000);
}
