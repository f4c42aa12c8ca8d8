// Maintenance windows: days plus HH:MM start/end in the schedule's time zone; end <= start crosses midnight
// (the window then belongs to the day it starts on). No windows means always open.
import type { MaintenanceWindow } from '../config/types.js';

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

interface LocalTime {
  day: number; // 0 = Sunday
  minutes: number; // since local midnight
}

function localTime(now: number, timeZone: string): LocalTime {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    weekday: 'short',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(new Date(now));
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return {
    day: DAYS.indexOf(get('weekday').toLowerCase().slice(0, 3)),
    minutes: Number(get('hour')) * 60 + Number(get('minute')),
  };
}

function toMinutes(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return h * 60 + m;
}

function inWindow(window: MaintenanceWindow, t: LocalTime): boolean {
  const start = toMinutes(window.start);
  const end = toMinutes(window.end);
  const onDay = (day: number) => window.days.length === 0 || window.days.includes(DAYS[(day + 7) % 7]);
  if (start < end) return onDay(t.day) && t.minutes >= start && t.minutes < end;
  // Crosses midnight: the evening part on a listed day, or the morning part on the day after one.
  return (onDay(t.day) && t.minutes >= start) || (onDay(t.day - 1) && t.minutes < end);
}

export function isWindowOpen(windows: readonly MaintenanceWindow[], timeZone: string, now: number): boolean {
  if (windows.length === 0) return true;
  const t = localTime(now, timeZone);
  return windows.some((w) => inWindow(w, t));
}

const MINUTE = 60_000;
const DAY_MINUTES = 24 * 60;

/** Minutes from local time `t` to the end of `window`'s period that is open at `t`; null when it is not open then. */
function minutesToClose(window: MaintenanceWindow, t: LocalTime): number | null {
  if (!inWindow(window, t)) return null;
  const start = toMinutes(window.start);
  const end = toMinutes(window.end);
  if (start < end || t.minutes < end) return end - t.minutes;
  return DAY_MINUTES - t.minutes + end; // the evening part of a window that crosses midnight
}

/** Minutes from local time `t` to the next start of `window` (strictly later), within 8 days; null if never. */
function minutesToOpen(window: MaintenanceWindow, t: LocalTime): number | null {
  const start = toMinutes(window.start);
  for (let d = 0; d <= 7; d++) {
    const day = (t.day + d) % 7;
    const delta = d * DAY_MINUTES + start - t.minutes;
    if (delta > 0 && (window.days.length === 0 || window.days.includes(DAYS[day]))) return delta;
  }
  return null;
}

/**
 * When the open period around `now` closes (epoch ms): `now` itself when no window is open, Infinity
 * without windows. Computed from the windows' times (a few steps when windows overlap or touch), never
 * searched minute by minute. Local clock arithmetic: a DST change inside a window may shift it by that change.
 */
export function windowClosesAt(windows: readonly MaintenanceWindow[], timeZone: string, now: number): number {
  if (windows.length === 0) return Infinity;
  let at = now;
  // Each step moves to the latest end of the windows open at `at`; a window open there extends it.
  for (let step = 0; step <= windows.length; step++) {
    const t = localTime(at, timeZone);
    const ends = windows.map((w) => minutesToClose(w, t)).filter((m): m is number => m !== null);
    if (ends.length === 0) return at;
    at = Math.floor(at / MINUTE) * MINUTE + Math.max(...ends) * MINUTE;
  }
  return at;
}

/** The next moment a window opens after the open period around `now` (to the minute, within 8 days); null when always open or never. */
export function nextWindowOpening(windows: readonly MaintenanceWindow[], timeZone: string, now: number): number | null {
  if (windows.length === 0) return null;
  const from = windowClosesAt(windows, timeZone, now);
  const t = localTime(from, timeZone);
  const opens = windows.map((w) => minutesToOpen(w, t)).filter((m): m is number => m !== null);
  return opens.length === 0 ? null : Math.floor(from / MINUTE) * MINUTE + Math.min(...opens) * MINUTE;
}
