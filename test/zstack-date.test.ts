// ZStack inventory dates (Gson's default format, the MN's local time, no zone) read as local time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseZStackDate } from '../src/zstack/zstack-date.js';

test('Gson dates of older and newer JDKs, and other spellings', () => {
  const local = new Date(2024, 9, 17, 5, 43, 35).getTime();
  assert.equal(parseZStackDate('Oct 17, 2024 5:43:35 AM'), local);
  assert.equal(parseZStackDate('Oct 17, 2024, 5:43:35\u202fAM'), local);
  assert.equal(parseZStackDate('Oct 17, 2024 12:05:00 AM'), new Date(2024, 9, 17, 0, 5, 0).getTime());
  assert.equal(parseZStackDate('Oct 17, 2024 12:05:00 PM'), new Date(2024, 9, 17, 12, 5, 0).getTime());
  assert.equal(parseZStackDate('Oct 17, 2024 5:43:35 PM'), new Date(2024, 9, 17, 17, 43, 35).getTime());
  assert.equal(parseZStackDate('2024-10-17T05:43:35Z'), Date.UTC(2024, 9, 17, 5, 43, 35));
  assert.equal(parseZStackDate(1729143815000), 1729143815000);
  for (const bad of ['', 'yesterday', 'Foo 17, 2024 5:43:35 AM', null, undefined, {}]) assert.equal(parseZStackDate(bad), null, String(bad));
});
