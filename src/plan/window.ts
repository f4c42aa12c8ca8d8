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

/** The next moment (to the minute, within 8 days) a window opens; null when always open or never. */
export function nextWindowOpening(windows: readonly MaintenanceWindow[], timeZone: string, now: number): number | null {
  if (windows.length === 0) return null;
  const minute = 60_000;
  let t = Math.floor(now / minute) * minute;
  let wasOpen = isWindowOpen(windows, timeZone, t);
  for (let i = 0; i < 8 * 24 * 60; i++) {
    t += minute;
    const open = isWindowOpen(windows, timeZone, t);
    if (open && !wasOpen) return t;
    wasOpen = open;
  }
  return null;
}
