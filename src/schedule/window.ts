// Maintenance windows: days plus HH:MM start/end in the schedule's time zone; end <= start crosses midnight
// (the window then belongs to the day it starts on). No windows means always open. Start and end are
// local wall times: a window is open while the local clock reads within it, and its end
// is the instant the local clock reaches the end, converted in the zone (zone-time.ts), so across a
// DST change it still ends at that wall time, not after as many minutes as the clock showed.
import type { MaintenanceWindow } from '../config/schema.js';
import { DAY, dayName, instantsOfWall, localTime, nextOffsetChange, type LocalTime } from './zone-time.js';

const MINUTE = 60_000;

function toMinutes(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return h * 60 + m;
}

function onDay(window: MaintenanceWindow, day: number): boolean {
  return window.days.length === 0 || window.days.includes(dayName(day));
}

function inWindow(window: MaintenanceWindow, t: LocalTime): boolean {
  const start = toMinutes(window.start);
  const end = toMinutes(window.end);
  if (start < end) return onDay(window, t.day) && t.minutes >= start && t.minutes < end;
  // Crosses midnight: the evening part on a listed day, or the morning part on the day after one.
  return (onDay(window, t.day) && t.minutes >= start) || (onDay(window, t.day - 1) && t.minutes < end);
}

export function isWindowOpen(windows: readonly MaintenanceWindow[], timeZone: string, now: number): boolean {
  if (windows.length === 0) return true;
  const t = localTime(now, timeZone);
  return windows.some((w) => inWindow(w, t));
}

/** The first instant after `after` at which the local clock reaches `wall` (wall ms), or null. */
function reached(wall: number, timeZone: string, after: number): number | null {
  return instantsOfWall(wall, timeZone).find((x) => x > after) ?? null;
}

/** When the period of `window` that is open at `at` (local time `t`) ends; null when it is not open then. */
function closeOf(window: MaintenanceWindow, t: LocalTime, timeZone: string, at: number): number | null {
  if (!inWindow(window, t)) return null;
  const start = toMinutes(window.start);
  const end = toMinutes(window.end);
  // The end is on this local date, or tomorrow for the evening part of a window that crosses midnight.
  const date = start < end || t.minutes < end ? t.date : t.date + DAY;
  return reached(date + end * MINUTE, timeZone, at);
}

/**
 * When the open period around `now` closes (epoch ms): `now` itself when no window is open, Infinity
 * without windows. The first instant the local clock reaches the end (the latest end of the windows
 * open then, a few steps when windows overlap or touch), never searched minute by minute.
 */
export function windowClosesAt(windows: readonly MaintenanceWindow[], timeZone: string, now: number): number {
  if (windows.length === 0) return Infinity;
  let at = now;
  // Each step moves to the latest end of the windows open at `at`; a window open there extends it.
  for (let step = 0; step <= windows.length; step++) {
    const t = localTime(at, timeZone);
    const ends = windows.map((w) => closeOf(w, t, timeZone, at)).filter((x): x is number => x !== null);
    if (ends.length === 0) return at;
    at = Math.max(...ends);
  }
  return at;
}

/**
 * The next moment a window opens after the open period around `now` (within 15 days, as a weekly
 * window skipped by a DST change opens a week later); null when
 * always open or never. The local clock reaching a start on a listed day, or falling back into a
 * window in autumn.
 */
export function nextWindowOpening(windows: readonly MaintenanceWindow[], timeZone: string, now: number): number | null {
  if (windows.length === 0) return null;
  const from = windowClosesAt(windows, timeZone, now);
  const t = localTime(from, timeZone);
  let next: number | null = null;
  for (const w of windows) {
    for (let d = 0; d <= 14; d++) {
      if (!onDay(w, t.day + d)) continue;
      const opens = reached(t.date + d * DAY + toMinutes(w.start) * MINUTE, timeZone, from);
      if (opens !== null && isWindowOpen(windows, timeZone, opens)) {
        if (next === null || opens < next) next = opens;
        break;
      }
    }
  }
  const change = nextOffsetChange(from, next ?? from + 15 * DAY, timeZone);
  if (change !== null && isWindowOpen(windows, timeZone, change)) return change;
  return next;
}
