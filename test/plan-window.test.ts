import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isWindowOpen, nextWindowOpening, windowClosesAt } from '../src/schedule/window.js';

// 2026-11-27 is a Friday.
const at = (iso: string) => Date.parse(iso);

test('window: no windows means always open', () => {
  assert.equal(isWindowOpen([], 'UTC', at('2026-11-27T12:00:00Z')), true);
  assert.equal(nextWindowOpening([], 'UTC', at('2026-11-27T12:00:00Z')), null);
});

test('window: same-day window on listed days only', () => {
  const w = [{ days: ['fri'], start: '09:00', end: '17:00' }];
  assert.equal(isWindowOpen(w, 'UTC', at('2026-11-27T08:59:00Z')), false);
  assert.equal(isWindowOpen(w, 'UTC', at('2026-11-27T09:00:00Z')), true);
  assert.equal(isWindowOpen(w, 'UTC', at('2026-11-27T16:59:00Z')), true);
  assert.equal(isWindowOpen(w, 'UTC', at('2026-11-27T17:00:00Z')), false);
  assert.equal(isWindowOpen(w, 'UTC', at('2026-11-28T10:00:00Z')), false);
});

test('window: crossing midnight belongs to the start day', () => {
  const w = [{ days: ['fri'], start: '22:00', end: '04:00' }];
  assert.equal(isWindowOpen(w, 'UTC', at('2026-11-27T23:30:00Z')), true);
  assert.equal(isWindowOpen(w, 'UTC', at('2026-11-28T03:59:00Z')), true); // Saturday morning
  assert.equal(isWindowOpen(w, 'UTC', at('2026-11-28T04:00:00Z')), false);
  assert.equal(isWindowOpen(w, 'UTC', at('2026-11-27T03:00:00Z')), false); // Friday morning: Thursday not listed
});

test('window: evaluated in the schedule time zone', () => {
  const w = [{ days: [], start: '01:00', end: '02:00' }];
  // 01:30 in Shanghai (UTC+8) is 17:30 UTC the day before.
  assert.equal(isWindowOpen(w, 'Asia/Shanghai', at('2026-11-26T17:30:00Z')), true);
  assert.equal(isWindowOpen(w, 'UTC', at('2026-11-26T17:30:00Z')), false);
});

test('window: next opening', () => {
  const w = [{ days: ['sat'], start: '02:00', end: '03:00' }];
  assert.equal(nextWindowOpening(w, 'UTC', at('2026-11-27T12:00:00Z')), at('2026-11-28T02:00:00Z'));
});

test('window: the close of the open period is computed, also across midnight and touching windows', () => {
  const w = [{ days: ['fri'], start: '22:00', end: '04:00' }];
  assert.equal(windowClosesAt(w, 'UTC', at('2026-11-27T23:30:20Z')), at('2026-11-28T04:00:00Z'));
  assert.equal(windowClosesAt(w, 'UTC', at('2026-11-28T01:59:00Z')), at('2026-11-28T04:00:00Z'));
  assert.equal(windowClosesAt(w, 'UTC', at('2026-11-27T12:00:00Z')), at('2026-11-27T12:00:00Z'), 'closed now: closes now');
  assert.equal(windowClosesAt([], 'UTC', at('2026-11-27T12:00:00Z')), Infinity);
  const touching = [{ days: [], start: '01:00', end: '02:00' }, { days: [], start: '02:00', end: '03:30' }];
  assert.equal(windowClosesAt(touching, 'UTC', at('2026-11-27T01:59:00Z')), at('2026-11-27T03:30:00Z'));
  assert.equal(windowClosesAt(w, 'Asia/Shanghai', at('2026-11-27T15:00:00Z')), at('2026-11-27T20:00:00Z'), '04:00 in Shanghai');
});

test('window: next opening is after the open period, in the time zone, and null when never', () => {
  const w = [{ days: ['sat'], start: '02:00', end: '03:00' }];
  assert.equal(nextWindowOpening(w, 'UTC', at('2026-11-28T02:30:00Z')), at('2026-12-05T02:00:00Z'));
  assert.equal(nextWindowOpening([{ days: [], start: '01:00', end: '02:00' }], 'Asia/Shanghai', at('2026-11-26T12:00:00Z')), at('2026-11-26T17:00:00Z'));
});
