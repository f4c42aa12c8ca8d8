// notify.webhooks end to end: the built CLI against the simulator, delivering to real receivers on
// 127.0.0.1. A failed run is announced (json signed with secretFile; a DingTalk robot that fails
// twice, then accepts), a receiver that never answers neither blocks nor fails the run, and webhook
// URLs, headers and secrets appear nowhere: not in output, logs or the database.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { startSimulator, type Simulator } from '../src/sim/index.js';
import { HEX, testFleet } from './helpers/fleet.js';
import { gtr, simConfig, workspace, type Workspace } from './helpers/cli.js';
import { logLines } from './helpers/daemon.js';

interface Got { url: string; headers: IncomingMessage['headers']; body: string }

const opened: Array<{ close(): Promise<void> | void }> = [];
afterEach(async () => {
  for (const o of opened.splice(0).reverse()) await o.close();
});

async function receiver(answer: (n: number) => number | null) {
  const got: Got[] = [];
  let n = 0;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      got.push({ url: req.url ?? '', headers: req.headers, body });
      const status = answer(++n);
      if (status !== null) res.writeHead(status).end(status === 200 ? '{"errcode":0,"errmsg":"ok"}' : 'unavailable');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  opened.push({ close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }) });
  return { got, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function setup(notify: Record<string, unknown>): Promise<{ sim: Simulator; ws: Workspace; config: string }> {
  const sim = await startSimulator({ fleet: testFleet(3), jobDurationMs: 5, guests: { installDelayMs: 5 }, faults: { failVmUuids: [HEX(2)] } });
  const ws = await workspace();
  opened.push({ close: () => sim.close() }, { close: () => ws.cleanup() });
  const config = ws.writeConfig(simConfig(ws, sim, { notify, log: { level: 'info' } }));
  return { sim, ws, config };
}

describe('notify.webhooks end to end', () => {
  it('announces a failed run; a flaky robot gets it on the third try; a silent one delays the exit at most 10 s and changes nothing', async () => {
    const json = await receiver(() => 200);
    const ding = await receiver((n) => (n <= 2 ? 503 : 200));
    const silent = await receiver(() => null);
    const ws0 = await setup({});
    // secretFile relative to the config file's folder.
    writeFileSync(join(ws0.ws.dir, 'json.secret'), 'json-signing-secret\n', { mode: 0o600 });
    writeFileSync(join(ws0.ws.dir, 'ding.secret'), 'SECding\n', { mode: 0o600 });
    const config = ws0.ws.writeConfig(simConfig(ws0.ws, ws0.sim, {
      log: { level: 'info' },
      notify: {
        webhooks: [
          { url: `${json.base}/hook?token=json-url-token`, secretFile: 'json.secret', headers: { 'X-Api-Key': 'header-secret-value' } },
          { url: `${ding.base}/robot/send?access_token=ding-url-token`, format: 'dingtalk', secretFile: 'ding.secret' },
          { url: `${silent.base}/never?key=silent-url-token`, format: 'wecom' },
        ],
      },
    }));
    const r = await gtr(['reconcile', '--config', config, '--json']);
    assert.equal(r.code, 1, r.stderr); // some attaches failed: the run's own exit code, whatever the webhooks did
    const report = JSON.parse(r.stdout) as { runId: number; status: string };
    assert.equal(report.status, 'partial');

    assert.equal(json.got.length, 1);
    const body = JSON.parse(json.got[0]!.body) as Record<string, unknown>;
    assert.equal(body.event, 'run.failed');
    assert.equal(body.runId, report.runId);
    assert.equal(body.status, 'partial');
    assert.deepEqual(body.counts, { vms: 3, attach: 3, skip: 0, defer: 0, succeeded: 2, failed: 1 });
    assert.equal(json.got[0]!.headers['x-gtr-signature'], `sha256=${createHmac('sha256', 'json-signing-secret').update(json.got[0]!.body).digest('hex')}`);
    assert.equal(json.got[0]!.headers['x-api-key'], 'header-secret-value');

    assert.equal(ding.got.length, 3);
    const signed = new URL(ding.got[2]!.url, 'http://x').searchParams;
    const ts = signed.get('timestamp') ?? '';
    assert.equal(signed.get('sign'), createHmac('sha256', 'SECding').update(`${ts}\nSECding`).digest('base64'));
    assert.match((JSON.parse(ding.got[2]!.body) as { text: { content: string } }).text.content, /partial: 1 of 3 attaches failed/);

    assert.ok(silent.got.length >= 1);
    // The silent robot's delivery is what is left at exit: logged as dropped, by count.
    const dropped = logLines(r.stderr).filter((l) => 'undelivered' in l).map((l) => ({ level: l.level, undelivered: l.undelivered }));
    assert.deepEqual(dropped, [{ level: 40, undelivered: 1 }], r.stderr);

    const db = readFileSync(ws0.ws.database).toString('latin1');
    for (const secret of ['json-url-token', 'ding-url-token', 'silent-url-token', 'header-secret-value', 'json-signing-secret', 'SECding', json.base, ding.base]) {
      assert.ok(!r.stdout.includes(secret) && !r.stderr.includes(secret), `output names ${secret}`);
      assert.ok(!db.includes(secret), `database holds ${secret}`);
    }
  });

  it('validates notify.webhooks with the rest of the config, every problem at once, URLs redacted', async () => {
    const { config, ws, sim } = await setup({});
    ws.writeConfig(simConfig(ws, sim, {
      policy: { maxPerHost: 0 },
      notify: {
        webhooks: [
          { url: 'ftp://robot.example/secret-path', format: 'teams', events: ['run.failed', 'run.exploded'] },
          { url: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=wecom-key', format: 'wecom', secretFile: 'x.secret', headers: { Host: 'x' }, extra: 1 },
        ],
      },
    }));
    const r = await gtr(['plan', '--config', config]);
    assert.equal(r.code, 2, r.stderr);
    for (const key of ['policy.maxPerHost', 'notify.webhooks[0].url', 'notify.webhooks[0].format', 'notify.webhooks[0].events', 'notify.webhooks[1].secretFile',
      'notify.webhooks[1].headers', 'notify.webhooks[1].extra']) {
      assert.ok(r.stderr.includes(`${key}:`), `names ${key}:\n${r.stderr}`);
    }
    for (const secret of ['secret-path', 'wecom-key', 'access_token']) assert.ok(!r.stderr.includes(secret), `stderr shows ${secret}`);

    // Secret files are read once the webhooks are well-formed: a missing one is named, its URL is not.
    ws.writeConfig(simConfig(ws, sim, {
      notify: { webhooks: [{ url: 'https://oapi.dingtalk.com/robot/send?access_token=t', format: 'dingtalk', secretFile: join(ws.dir, 'missing.secret') }] },
    }));
    const missing = await gtr(['plan', '--config', config]);
    assert.equal(missing.code, 2, missing.stderr);
    assert.match(missing.stderr, /notify\.webhooks\[0\]\.secretFile: got ".*missing\.secret", expected a readable file holding the signing secret \(ENOENT\)/);
    assert.ok(!missing.stderr.includes('access_token'));
  });

  it('announces rollout waves (when asked) and pauses with their reason', async () => {
    const hook = await receiver(() => 200);
    const { ws, sim } = await setup({});
    const config = ws.writeConfig(simConfig(ws, sim, { notify: { webhooks: [{ url: `${hook.base}/r`, events: ['rollout.wave-started', 'rollout.paused', 'rollout.completed'] }] } }));
    const started = await gtr(['rollout', 'start', '--config', config, '--json', '--waves', '1,100%']);
    assert.equal(started.code, 0, started.stderr);
    const id = (JSON.parse(started.stdout) as { id: number }).id;
    const paused = await gtr(['rollout', 'pause', String(id), '--config', config, '--reason', 'change freeze']);
    assert.equal(paused.code, 0, paused.stderr);
    const events = hook.got.map((g) => JSON.parse(g.body) as Record<string, unknown>);
    assert.deepEqual(events.map((e) => [e.event, e.rolloutId, e.status]), [['rollout.wave-started', id, 'active'], ['rollout.paused', id, 'paused']]);
    assert.equal(events[1]?.reason, 'operator');
    assert.match(String(events[1]?.summary), /change freeze/);
  });
});
