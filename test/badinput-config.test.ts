// Bad input, end to end through the CLI: configuration and database problems. The config unit tests
// (config-validate, config-load) check each rule; here the promise is what `gtr plan` does with them:
// exit 2, every problem named at once, no stack trace, never a secret.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import Database from 'better-sqlite3';
import { startSimulator, type Simulator } from '../src/sim/index.js';
import { gtr, simConfig, waitFor, workspace, type Workspace } from './helpers/cli.js';
import { outdatedFleet } from './helpers/fault.js';

const asRoot = process.getuid?.() === 0;
const NO_STACK = /\n\s+at .+:\d+:\d+/;
const PASSWORD = 'Cfg-Secret-Pa55';

/** One wrong value for every documented key. */
const WRONG: Record<string, Record<string, unknown>> = {
  zstack: {
    endpoint: 'ftp://mn', accountName: 42, password: ['not', 'a', 'string'], requestTimeoutMs: -1, pageSize: 0,
    jobPollIntervalMs: 'fast', jobTimeoutMs: 1.5, recordVersionTag: 'yes', tls: { caFile: 7, rejectUnauthorized: 'no' },
  },
  schedule: { cron: '61 * * * *', timezone: 'Mars/Olympus', windows: [{ days: ['Funday'], start: '25:00', end: 'x' }], jitter: 'soon' },
  policy: {
    maxConcurrency: '0%', maxPerHost: -2, maxErrors: '150%', maxPerRun: 'all', attachUntagged: 1, allowPrerelease: 'maybe',
    reattachAfter: 'a while', quarantineAfter: -1, quarantineBase: '1 hour', include: { colours: ['red'] }, exclude: 'everything',
  },
  ledger: { retainDays: -5, retainRuns: 'many' },
  http: { listen: 'everywhere' },
  log: { level: 'loud' },
};
const KEYS = [
  'zstack.endpoint', 'zstack.accountName', 'zstack.password', 'zstack.requestTimeoutMs', 'zstack.pageSize', 'zstack.jobPollIntervalMs',
  'zstack.jobTimeoutMs', 'zstack.recordVersionTag', 'zstack.tls.caFile', 'zstack.tls.rejectUnauthorized', 'isoDir', 'database',
  'schedule.cron', 'schedule.timezone', 'schedule.windows', 'schedule.jitter', 'policy.maxConcurrency', 'policy.maxPerHost',
  'policy.maxErrors', 'policy.maxPerRun', 'policy.attachUntagged', 'policy.allowPrerelease', 'policy.reattachAfter',
  'policy.quarantineAfter', 'policy.quarantineBase', 'policy.include', 'policy.exclude', 'ledger.retainDays', 'ledger.retainRuns',
  'http.listen', 'log.level',
];

describe('bad input: configuration, end to end', () => {
  let sim: Simulator;
  let ws: Workspace;
  before(async () => {
    sim = await startSimulator({ fleet: outdatedFleet(2, 1), password: PASSWORD });
    ws = await workspace();
  });
  after(async () => {
    await sim.close();
    ws.cleanup();
  });
  const write = (name: string, value: unknown) => {
    const file = join(ws.dir, name);
    writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value), { mode: 0o600 });
    return file;
  };

  it('every key wrong at once: exit 2, each key named, no stack trace, no secret', async () => {
    const file = write('all-wrong.json', { ...WRONG, isoDir: 12, database: false });
    const r = await gtr(['plan', '--config', file]);
    assert.equal(r.code, 2, r.stderr);
    const missing = KEYS.filter((k) => !r.stderr.includes(`  ${k}: got`) && !r.stderr.includes(`  ${k}`));
    assert.deepEqual(missing, [], 'every wrong key is named');
    assert.doesNotMatch(r.stderr, NO_STACK);
    assert.equal(sim.calls.length, 0, 'nothing was sent to the management node');
  });

  it('each key wrong on its own: exit 2 naming that key (one spawn per section)', async () => {
    for (const [section, values] of Object.entries(WRONG)) {
      const file = write(`wrong-${section}.json`, { ...simConfig(ws, sim), [section]: values });
      const r = await gtr(['plan', '--config', file]);
      assert.equal(r.code, 2, `${section}: ${r.stderr}`);
      for (const key of KEYS.filter((k) => k.startsWith(`${section}.`))) assert.ok(r.stderr.includes(key), `${key} named: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, NO_STACK);
    }
  });

  it('unknown keys at any depth, a file that is not JSON, and one that is not an object: exit 2', async () => {
    const unknown = write('unknown.json', { ...simConfig(ws, sim), colour: 'blue', zstack: { ...(simConfig(ws, sim).zstack as object), pasword: 'typo' } });
    const r1 = await gtr(['plan', '--config', unknown]);
    assert.equal(r1.code, 2);
    assert.match(r1.stderr, /colour/);
    assert.match(r1.stderr, /zstack\.pasword/);
    const notJson = write('broken.json', `{ "zstack": { "password": "${PASSWORD}", `);
    const r2 = await gtr(['plan', '--config', notJson]);
    assert.equal(r2.code, 2);
    assert.doesNotMatch(r2.stderr, new RegExp(PASSWORD), 'the file content is not quoted back');
    const array = write('array.json', '[1, 2, 3]');
    assert.equal((await gtr(['plan', '--config', array])).code, 2);
    for (const r of [r1, r2]) assert.doesNotMatch(r.stderr, NO_STACK);
  });

  it('a password file that is missing or is a folder: exit 2 naming zstack.passwordFile, never its content', async () => {
    const folder = join(ws.dir, 'secret-folder');
    mkdirSync(folder, { recursive: true });
    for (const passwordFile of [join(ws.dir, 'no-such-password'), folder]) {
      const base = simConfig(ws, sim);
      const file = write('pwfile.json', { ...base, zstack: { ...(base.zstack as Record<string, unknown>), password: undefined, passwordFile } });
      const r = await gtr(['plan', '--config', file]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /zstack\.passwordFile/);
      assert.ok(r.stderr.includes(passwordFile));
    }
  });

  it('an unreadable password file: exit 2', { skip: asRoot && 'running as root: file modes do not stop root from reading' }, async () => {
    const pw = write('pw-locked', PASSWORD);
    chmodSync(pw, 0o000);
    const base = simConfig(ws, sim);
    const file = write('pw-locked.json', { ...base, zstack: { ...(base.zstack as Record<string, unknown>), password: undefined, passwordFile: pw } });
    const r = await gtr(['plan', '--config', file]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /EACCES/);
  });
});

describe('bad input: the database, end to end', () => {
  let sim: Simulator;
  let ws: Workspace;
  before(async () => {
    sim = await startSimulator({ fleet: outdatedFleet(2, 1) });
    ws = await workspace();
  });
  after(async () => {
    await sim.close();
    ws.cleanup();
  });
  const planWith = async (database: string) => {
    const file = join(ws.dir, `db-${Math.random().toString(16).slice(2)}.json`);
    writeFileSync(file, JSON.stringify({ ...simConfig(ws, sim), database }), { mode: 0o600 });
    return gtr(['plan', '--config', file]);
  };
  const expectUnusable = (r: { code: number | null; stderr: string }, path: string, why: RegExp) => {
    assert.equal(r.code, 2, r.stderr);
    assert.ok(r.stderr.includes(path), `names ${path}: ${r.stderr}`);
    assert.match(r.stderr, why);
    assert.doesNotMatch(r.stderr, NO_STACK);
  };

  it('a corrupt file: exit 2 naming the path and what to do', async () => {
    const db = join(ws.dir, 'corrupt.db');
    writeFileSync(db, Buffer.concat([Buffer.from('SQLite format 3\0'), Buffer.alloc(4096, 0xab)]));
    expectUnusable(await planWith(db), db, /not a SQLite database or is damaged|move the file aside/);
  });

  it('a text file in place of the database: exit 2', async () => {
    const db = join(ws.dir, 'text.db');
    writeFileSync(db, 'hello, I am not a database\n'.repeat(200));
    expectUnusable(await planWith(db), db, /not a SQLite database/);
  });

  it('a schema newer than the code: exit 2, the database untouched', async () => {
    const db = join(ws.dir, 'newer.db');
    assert.equal((await planWith(db)).code, 0);
    const raw = new Database(db);
    raw.prepare("INSERT INTO schema_migrations (id, name, checksum, applied_at) VALUES (9999, '9999_from_the_future', 'x', 'now')").run();
    const runs = (raw.prepare('SELECT count(*) AS n FROM runs').get() as { n: number }).n;
    raw.close();
    expectUnusable(await planWith(db), db, /newer than the code/);
    const after = new Database(db, { readonly: true });
    assert.equal((after.prepare('SELECT count(*) AS n FROM runs').get() as { n: number }).n, runs, 'no run recorded on a schema the code does not know');
    after.close();
  });

  it('a folder that cannot be created (a file is in the way): exit 2 naming it', async () => {
    const inTheWay = join(ws.dir, 'a-file');
    writeFileSync(inTheWay, 'x');
    const db = join(inTheWay, 'state.db');
    expectUnusable(await planWith(db), db, /cannot be created or read/);
  });

  it('a read-only folder: exit 2', { skip: asRoot && 'running as root: a read-only folder does not stop root from writing' }, async () => {
    const folder = join(ws.dir, 'ro');
    mkdirSync(folder);
    chmodSync(folder, 0o555);
    try {
      const db = join(folder, 'state.db');
      expectUnusable(await planWith(db), db, /cannot be opened or written/);
    } finally {
      chmodSync(folder, 0o755);
    }
  });

  it('locked by another process: exit 2 after the busy timeout, naming the path', async () => {
    const db = join(ws.dir, 'locked.db');
    assert.equal((await planWith(db)).code, 0);
    // Another process holds the write lock (an EXCLUSIVE transaction) until it is killed.
    const holder = spawn(process.execPath, ['-e', `
      const Database = require(${JSON.stringify(createRequire(import.meta.url).resolve('better-sqlite3'))});
      const db = new Database(${JSON.stringify(db)});
      db.exec('BEGIN EXCLUSIVE');
      process.stdout.write('locked\\n');
      setInterval(() => {}, 1000);
    `], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      let out = '';
      holder.stdout.on('data', (d: Buffer) => (out += d.toString()));
      await waitFor('the lock', () => out.includes('locked'));
      expectUnusable(await planWith(db), db, /locked by another process/);
    } finally {
      holder.kill('SIGKILL');
    }
  });
});
