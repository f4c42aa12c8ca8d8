// The root logger writes JSON lines and never lets a secret through.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createLogger, scrubText } from '../src/log.js';

const SECRET = 'Hunter2-s3cret!';
const SESSION = '00d038b699b74e76a01705918d48d939';

function sink(): { stream: Writable; lines: () => Record<string, unknown>[]; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  const text = () => chunks.join('');
  const lines = () =>
    text()
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { stream, lines, text };
}

describe('createLogger', () => {
  it('writes one JSON object per line with level, time, name and fields', () => {
    const out = sink();
    const log = createLogger({ level: 'info', destination: out.stream, name: 'gtr-test' });
    log.info({ runId: 7 }, 'run started');
    log.debug('not shown at info');
    const [line, ...rest] = out.lines();
    assert.equal(rest.length, 0);
    assert.equal(line.msg, 'run started');
    assert.equal(line.runId, 7);
    assert.equal(line.level, 30);
    assert.equal(line.name, 'gtr-test');
    assert.match(String(line.time), /^\d{4}-\d\d-\d\dT/);
  });

  it('redacts passwords, hashes, session ids and Authorization headers wherever they sit', () => {
    const out = sink();
    const log = createLogger({ level: 'trace', destination: out.stream });
    log.info({ password: SECRET, passwordHash: 'b109f3bb', sessionId: SESSION, sessionUuid: SESSION, session: SESSION }, 'top level');
    log.info({ config: { zstack: { password: SECRET, endpoint: 'http://mn:8080' } } }, 'config');
    log.info({ zstack: { password: SECRET } }, 'zstack');
    log.info({ login: { body: { password: SECRET } } }, 'nested');
    log.info({ req: { headers: { authorization: `OAuth ${SESSION}`, Authorization: `OAuth ${SESSION}`, host: 'mn' } } }, 'request');
    log.info({ headers: { Authorization: `OAuth ${SESSION}` } }, 'headers');
    log.info({ passwordFileContent: SECRET }, 'file');
    const text = out.text();
    assert.ok(!text.includes(SECRET), text);
    assert.ok(!text.includes(SESSION), text);
    assert.ok(!text.includes('b109f3bb'), text);
    const lines = out.lines();
    assert.equal(lines[0].password, '[redacted]');
    assert.equal(lines[0].sessionId, '[redacted]');
    assert.deepEqual(lines[1].config, { zstack: { password: '[redacted]', endpoint: 'http://mn:8080' } });
    assert.deepEqual(lines[4].req, { headers: { authorization: '[redacted]', Authorization: '[redacted]', host: 'mn' } });
  });

  it('redacts secrets in child bindings', () => {
    const out = sink();
    const log = createLogger({ level: 'info', destination: out.stream }).child({ sessionUuid: SESSION, runId: 3 });
    log.info('in child');
    assert.ok(!out.text().includes(SESSION));
    assert.equal(out.lines()[0].runId, 3);
  });

  it('scrubs session ids out of URLs and header text in string fields', () => {
    const out = sink();
    const log = createLogger({ level: 'info', destination: out.stream });
    log.info({ url: `http://mn:8080/zstack/v1/vm-instances?sessionId=${SESSION}&start=0`, call: { header: `OAuth ${SESSION}` } }, 'GET');
    const [line] = out.lines();
    assert.equal(line.url, 'http://mn:8080/zstack/v1/vm-instances?sessionId=[redacted]&start=0');
    assert.deepEqual(line.call, { header: 'OAuth [redacted]' });
  });

  it('scrubText leaves ordinary text alone', () => {
    assert.equal(scrubText('attach of vm 1 failed'), 'attach of vm 1 failed');
    assert.equal(scrubText(`logout ?sessionUuid=${SESSION}`), 'logout ?sessionUuid=[redacted]');
  });

  it('keeps errors serialised with their message and stack', () => {
    const out = sink();
    const log = createLogger({ level: 'info', destination: out.stream });
    log.error({ err: new Error('boom') }, 'failed');
    const [line] = out.lines();
    assert.equal((line.err as { message: string }).message, 'boom');
  });

  it('writes to stderr by default, synchronously, so a line logged just before exit is kept', () => {
    const logModule = pathToFileURL(path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'src', 'log.ts')).href;
    const script = `import { createLogger } from ${JSON.stringify(logModule)};
      createLogger({ level: 'info' }).warn({ code: 'X' }, 'last words'); process.exit(3);`;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(child.status, 3, child.stderr);
    assert.equal(child.stdout, '');
    const line = JSON.parse(child.stderr.trim().split('\n').pop() ?? '') as Record<string, unknown>;
    assert.equal(line.msg, 'last words');
    assert.equal(line.code, 'X');
  });
});
