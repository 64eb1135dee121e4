// Numbers, dates and clocks as the dashboard writes them (../shared/design/UX.md: units always,
// dates in the reader's time zone with UTC beside, countdowns that say "due in 41 h").

// 1.2e26 FLOP, 1.25e26 FLOP: up to three significant digits, the exponent written out.
export function flop(x) {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—';
  if (x === 0) return '0 FLOP';
  const [mantissa, exponent] = x.toExponential(2).split('e');
  return `${mantissa.replace(/\.?0+$/, '')}e${Number(exponent)} FLOP`;
}

// $150M, $2.5B, $40K: money in its currency, short.
export function money(x, currency = 'USD') {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—';
  const sign = currency === 'USD' ? '$' : currency === 'EUR' ? '€' : `${currency} `;
  const units = [[1e12, 'T'], [1e9, 'B'], [1e6, 'M'], [1e3, 'K']];
  for (const [size, suffix] of units) {
    if (Math.abs(x) >= size) {
      const v = x / size;
      return `${sign}${v >= 100 ? v.toFixed(0) : Number(v.toPrecision(3))}${suffix}`;
    }
  }
  return `${sign}${Math.round(x)}`;
}

export const ms = (iso) => (iso ? Date.parse(iso) : NaN);

const localFormat = new Intl.DateTimeFormat(undefined, {
  weekday: 'short', day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit',
  timeZoneName: 'short',
});
const utcTime = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', timeZone: 'UTC' });
const utcDate = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', timeZone: 'UTC' });
const localDay = new Intl.DateTimeFormat('en-CA', { year: 'numeric', month: '2-digit', day: '2-digit' });
const utcDay = new Intl.DateTimeFormat('en-CA', { year: 'numeric', month: '2-digit', day: '2-digit', timeZone: 'UTC' });

// {local: "Thu, 3 Dec 2026, 10:30 CET", utc: "09:30 UTC"} (the UTC date too when it is another day).
export function when(iso) {
  const t = ms(iso);
  if (!Number.isFinite(t)) return { local: '—', utc: '' };
  const d = new Date(t);
  const sameDay = localDay.format(d) === utcDay.format(d);
  return { local: localFormat.format(d), utc: `${sameDay ? '' : `${utcDate.format(d)} `}${utcTime.format(d)} UTC` };
}

// "41 h", "3 days", "25 min": a span of time as a person says it.
export function span(milliseconds) {
  const minutes = Math.floor(milliseconds / 60000);
  if (minutes < 1) return 'less than a minute';
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 72) return `${hours} h`;
  const days = Math.floor(hours / 24);
  return days === 1 ? '1 day' : `${days} days`;
}

// A deadline against the clock: {overdue, text: "due in 41 h" | "overdue by 3 days"}.
export function countdown(dueIso, now) {
  const t = ms(dueIso);
  if (!Number.isFinite(t)) return { overdue: false, text: 'no fixed date' };
  return t >= now ? { overdue: false, text: `due in ${span(t - now)}` } : { overdue: true, text: `overdue by ${span(now - t)}` };
}

// An ISO instant to the second, as the API takes it ("2026-11-26T09:30:00Z").
export function isoSeconds(date) {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// The value of an <input type="datetime-local"> (local time) for a Date, and back.
export function toLocalInput(date) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}
export function fromLocalInput(value) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value ?? '');
  if (!m) return null;
  const d = new Date(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] ?? 0));
  return Number.isNaN(d.getTime()) ? null : d;
}

export function plural(n, one, many = `${one}s`) {
  return `${n.toLocaleString()} ${n === 1 ? one : many}`;
}
