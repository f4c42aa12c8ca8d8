import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { GtrError } from '../src/errors.js';
import { DEFAULT_MIGRATIONS_DIR, Ledger } from '../src/ledger/index.js';

let tmp: string;
let migrations: string;
let dbPath: string;
const open: Ledger[] = [];

function ledger(opts: Parameters<typeof Ledger.open>[1] = {}): Ledger {
  const l = Ledger.open(dbPath, { migrationsDir: migrations, ...opts });
  open.push(l);
  return l;
}

function writeMigration(name: string, sql: string): void {
  fs.writeFileSync(path.join(migrations, name), sql);
}

function assertGtr(fn: () => unknown, code: string, ...fragments: string[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof GtrError, `expected a GtrError, got ${String(e)}`);
    assert.equal(e.code, code);
    for (const f of fragments) assert.ok(e.message.includes(f), `message should mention ${f}: ${e.message}`);
    return true;
  });
}

beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gtr-ledger-migrate-'));
  migrations = path.join(tmp, 'migrations');
  fs.mkdirSync(migrations);
  dbPath = path.join(tmp, 'state.db');
});

afterEach(() => {
  for (const l of open.splice(0)) l.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('shipped migrations', () => {
  test('a fresh database gets every table, recorded with a sha256 checksum', () => {
    const l = Ledger.open(dbPath);
    open.push(l);
    assert.equal(l.migrationsDir, DEFAULT_MIGRATIONS_DIR);
    assert.deepEqual(l.pendingMigrations(), []);
    l.close();
    const db = new Database(dbPath, { readonly: true });
    try {
      const tables = db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all().map((r) => r.name);
      for (const t of ['decisions', 'lease', 'runs', 'schema_migrations', 'vm_state']) assert.ok(tables.includes(t), `table ${t}`);
      const rows = db.prepare<[], { id: number; name: string; checksum: string; applied_at: string }>('SELECT * FROM schema_migrations').all();
      assert.equal(rows[0].id, 1);
      assert.equal(rows[0].name, '0001_init');
      assert.match(rows[0].checksum, /^[0-9a-f]{64}$/);
      assert.ok(!Number.isNaN(Date.parse(rows[0].applied_at)));
    } finally {
      db.close();
    }
  });

  test('WAL, synchronous=FULL, foreign keys and the busy timeout are in effect', () => {
    const l = ledger({ migrationsDir: DEFAULT_MIGRATIONS_DIR });
    assert.deepEqual(l.settings(), { journalMode: 'wal', synchronous: 2, foreignKeys: true, busyTimeoutMs: 5000 });
    // journal_mode is stored in the file: a separate connection sees it too.
    const db = new Database(dbPath, { readonly: true });
    try {
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    } finally {
      db.close();
    }
    assert.ok(l.databaseSizeBytes() > 0);
  });
});

describe('migration runner', () => {
  test('applies pending migrations in numeric order, once', () => {
    writeMigration('0002_b.sql', 'ALTER TABLE a ADD COLUMN y TEXT;');
    writeMigration('0001_a.sql', 'CREATE TABLE a (x INTEGER);');
    fs.writeFileSync(path.join(migrations, 'README.md'), 'not a migration');
    const l = ledger({ migrate: false });
    assert.deepEqual(l.pendingMigrations(), ['0001_a', '0002_b']);
    assert.deepEqual(l.migrate(), ['0001_a', '0002_b']);
    assert.deepEqual(l.migrate(), []);
    writeMigration('0003_c.sql', 'CREATE TABLE c (z INTEGER);');
    assert.deepEqual(l.pendingMigrations(), ['0003_c']);
    l.close();
    const again = ledger(); // open migrates by default
    assert.deepEqual(again.pendingMigrations(), []);
  });

  test('a failing migration names itself and leaves the database as it was', () => {
    writeMigration('0001_a.sql', 'CREATE TABLE a (x INTEGER);');
    writeMigration('0002_bad.sql', 'CREATE TABLE b (y INTEGER); THIS IS NOT SQL;');
    assertGtr(() => ledger(), 'GTR_LEDGER_UNUSABLE', '0002_bad', dbPath);
    const l = ledger({ migrate: false });
    assert.deepEqual(l.pendingMigrations(), ['0002_bad']);
    const db = new Database(dbPath, { readonly: true });
    try {
      assert.equal(db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'b'").get(), undefined);
    } finally {
      db.close();
    }
  });

  test('refuses a badly named or duplicate-numbered .sql file', () => {
    writeMigration('1_a.sql', 'SELECT 1;');
    assertGtr(() => ledger(), 'GTR_MIGRATION_DRIFT', '1_a.sql', 'NNNN_name.sql');
    fs.rmSync(path.join(migrations, '1_a.sql'));
    writeMigration('0001_a.sql', 'SELECT 1;');
    writeMigration('0001_b.sql', 'SELECT 2;');
    assertGtr(() => ledger(), 'GTR_MIGRATION_DRIFT', '0001_a', '0001_b');
  });
});

describe('drift is refused', () => {
  const B = '-- b\nCREATE TABLE b (y INTEGER);\n';
  beforeEach(() => {
    writeMigration('0001_a.sql', 'CREATE TABLE a (x INTEGER);');
    writeMigration('0002_b.sql', B);
    ledger().close();
  });

  test('an applied migration missing from the folder', () => {
    fs.rmSync(path.join(migrations, '0001_a.sql'));
    assertGtr(() => ledger(), 'GTR_MIGRATION_DRIFT', '0001_a', 'missing', migrations);
  });

  test('an applied migration edited afterwards', () => {
    writeMigration('0002_b.sql', 'CREATE TABLE b (y INTEGER, z TEXT);');
    assertGtr(() => ledger(), 'GTR_MIGRATION_DRIFT', '0002_b', 'edited');
    // Also when only checking, and when opening read-only.
    assertGtr(() => ledger({ migrate: false }), 'GTR_MIGRATION_DRIFT', 'edited');
    assertGtr(() => ledger({ readonly: true }), 'GTR_MIGRATION_DRIFT', 'edited');
  });

  test('a CRLF checkout of the same file is not an edit', () => {
    writeMigration('0002_b.sql', B.replace(/\n/g, '\r\n'));
    assert.doesNotThrow(() => ledger());
  });

  test('a new migration numbered before one already applied', () => {
    writeMigration('0005_e.sql', 'CREATE TABLE e (x INTEGER);');
    ledger().close();
    writeMigration('0003_late.sql', 'CREATE TABLE late (x INTEGER);');
    assertGtr(() => ledger(), 'GTR_MIGRATION_DRIFT', '0003_late', 'sorts before', '0005_e');
  });

  test('a database newer than the code', () => {
    writeMigration('0003_c.sql', 'CREATE TABLE c (z INTEGER);');
    ledger().close();
    fs.rmSync(path.join(migrations, '0003_c.sql'));
    assertGtr(() => ledger(), 'GTR_MIGRATION_DRIFT', '0003_c', 'newer than the code');
  });
});

describe('unusable databases', () => {
  test('a file that is not a database names the path and what to do', () => {
    fs.writeFileSync(dbPath, Buffer.alloc(8192, 'garbage!'));
    assertGtr(() => Ledger.open(dbPath), 'GTR_LEDGER_UNUSABLE', dbPath, 'not a SQLite database', 'move the file aside');
  });

  test('a missing folder is created (0750 at most) for writing, never for a read-only open', () => {
    const deep = path.join(tmp, 'no', 'such', 'state.db');
    assertGtr(() => Ledger.open(deep, { readonly: true }), 'GTR_LEDGER_UNUSABLE', deep, 'does not exist yet');
    assert.equal(fs.existsSync(path.join(tmp, 'no')), false);
    Ledger.open(deep).close();
    assert.equal(fs.statSync(path.dirname(deep)).mode & 0o027, 0, 'no group write, nothing for others');
    assert.ok(fs.existsSync(deep));
  });

  test('read-only open of a database that does not exist yet', () => {
    assertGtr(() => Ledger.open(dbPath, { readonly: true }), 'GTR_LEDGER_UNUSABLE', dbPath, 'gtr migrate');
    assert.equal(fs.existsSync(dbPath), false);
  });

  test('a missing migrations folder', () => {
    assertGtr(() => Ledger.open(dbPath, { migrationsDir: path.join(tmp, 'nope') }), 'GTR_LEDGER_UNUSABLE', path.join(tmp, 'nope'));
  });
});
