// Validators for the daemon schedule: cron expression, time zone, maintenance windows.
import cron from 'node-cron';
import type { MaintenanceWindow } from './types.js';
import { fail, INVALID, isPlainObject, type Field } from './fields.js';

const CRON_EXPECTED = 'a cron expression with five or six fields, such as "*/30 * * * *"';

export const cronExpression: Field<string> = (value, ctx) => {
  if (typeof value !== 'string') return fail(ctx, value, CRON_EXPECTED);
  const fields = value.trim().split(/\s+/).length;
  return (fields === 5 || fields === 6) && cron.validate(value) ? value : fail(ctx, value, CRON_EXPECTED);
};

export const timeZone: Field<string> = (value, ctx) => {
  const expected = 'an IANA time zone such as "UTC" or "Europe/Berlin"';
  if (typeof value !== 'string' || value === '') return fail(ctx, value, expected);
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: value });
    return value;
  } catch {
    return fail(ctx, value, expected);
  }
};

const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const HHMM = /^([01]\d|2[0-3]):[0-5]\d$/;
const WINDOW_KEYS = ['days', 'start', 'end'];

function window(value: unknown, key: string, report: (key: string, value: unknown, expected: string) => void): MaintenanceWindow | null {
  if (!isPlainObject(value)) {
    report(key, value, 'an object like {"days": ["sat", "sun"], "start": "22:00", "end": "04:00"}');
    return null;
  }
  let ok = true;
  for (const name of Object.keys(value)) {
    if (!WINDOW_KEYS.includes(name)) {
      report(`${key}.${name}`, value[name], `no such key; known keys here: ${WINDOW_KEYS.join(', ')}`);
      ok = false;
    }
  }
  const days = value.days ?? [];
  if (!Array.isArray(days) || days.some((d) => typeof d !== 'string' || !DAYS.includes(d))) {
    report(`${key}.days`, days, `a list of days out of ${DAYS.join(', ')} (empty or missing means every day)`);
    ok = false;
  }
  for (const name of ['start', 'end'] as const) {
    if (typeof value[name] !== 'string' || !HHMM.test(value[name] as string)) {
      report(`${key}.${name}`, value[name], 'a time "HH:MM" from 00:00 to 23:59 in schedule.timezone');
      ok = false;
    }
  }
  return ok ? { days: [...(days as string[])], start: value.start as string, end: value.end as string } : null;
}

/** Maintenance windows; an end at or before the start crosses midnight. */
export const windows: Field<MaintenanceWindow[]> = (value, ctx) => {
  if (!Array.isArray(value)) return fail(ctx, value, 'a list of windows like {"days": ["sat"], "start": "22:00", "end": "04:00"} (empty: always open)');
  const result: MaintenanceWindow[] = [];
  let ok = true;
  value.forEach((item, i) => {
    const w = window(item, `${ctx.key}[${i}]`, ctx.report);
    if (w) result.push(w);
    else ok = false;
  });
  return ok ? result : INVALID;
};
