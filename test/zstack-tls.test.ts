// https endpoints: the Agent built from zstack.tls trusts the configured CA, refuses an unknown
// certificate as GTR_ZSTACK_UNREACHABLE, and connects anyway when rejectUnauthorized is false.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { GtrError } from '../src/errors.js';
import { ZStackClient, type ZStackClientOptions } from '../src/zstack/client.js';

// Self-signed for IP 127.0.0.1, valid 2020-2120; a test fixture, not a secret.
const CERT = `-----BEGIN CERTIFICATE-----
MIIBXDCCAQKgAwIBAgIBATAKBggqhkjOPQQDAjAUMRIwEAYDVQQDDAkxMjcuMC4w
LjEwIBcNMjAwMTAxMDAwMDAwWhgPMjEyMDAxMDEwMDAwMDBaMBQxEjAQBgNVBAMM
CTEyNy4wLjAuMTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABLDo+YjZSKPjsggB
/H26WHfAIBFdQ+pPmpr+IPtdIKbzN7Tz7mvnoxvPpmM+zySC4XJ81zCLouqu/bsV
gsQmPfyjQzBBMA8GA1UdEQQIMAaHBH8AAAEwDwYDVR0TAQH/BAUwAwEB/zAdBgNV
HQ4EFgQUs++ZYmBk7gJZ9GUMU7XNNVusUtcwCgYIKoZIzj0EAwIDSAAwRQIgJ6x/
OfxjPLa5PXQPTPK6wHcWfnrxV49S2DQe6OytcLMCIQD//6eh3EKzynwl2sqOz+EE
i8iEft5loPHoSFI5h25Vmw==
-----END CERTIFICATE-----
`;
const KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgZvxbi1GfGLZjVqSD
RTFnYxBaRP5mXOE/uLBTwtb7e62hRANCAASw6PmI2Uij47IIAfx9ulh3wCARXUPq
T5qa/iD7XSCm8ze08+5r56Mbz6ZjPs8kguFyfNcwi6Lqrv27FYLEJj38
-----END PRIVATE KEY-----
`;

describe('ZStack client over https', () => {
  let server: https.Server;
  let endpoint = '';
  let dir = '';
  let caFile = '';
  const clients: ZStackClient[] = [];

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'gtr-zstack-tls-'));
    caFile = path.join(dir, 'ca.pem');
    await fs.writeFile(caFile, CERT);
    server = https.createServer({ cert: CERT, key: KEY }, (req, res) => {
      req.resume();
      req.on('end', () => {
        if (req.method === 'PUT' && req.url === '/zstack/v1/accounts/login') res.end('{"inventory":{"uuid":"0123456789abcdef0123456789abcdef"}}');
        else if (req.method === 'GET' && req.url?.startsWith('/zstack/v1/vm-instances?')) res.end('{"total":42}');
        else res.end('');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    for (const c of clients) await c.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await fs.rm(dir, { recursive: true, force: true });
  });

  function client(tls: ZStackClientOptions['tls']): ZStackClient {
    const c = new ZStackClient({
      endpoint, accountName: 'admin', password: 'pw', tls,
      requestTimeoutMs: 2000, pageSize: 100, jobPollIntervalMs: 5, jobTimeoutMs: 1000,
      retry: { attempts: 0, baseDelayMs: 1, maxDelayMs: 1 },
    });
    clients.push(c);
    return c;
  }

  it('trusts the configured CA file', async () => {
    assert.equal(await client({ caFile, rejectUnauthorized: true }).count('vm-instances', []), 42);
  });

  it('refuses an unknown certificate as unreachable, naming the TLS cause', async () => {
    const err = await client({ caFile: null, rejectUnauthorized: true }).login().then(() => null, (e: unknown) => e);
    assert.ok(err instanceof GtrError);
    assert.equal(err.code, 'GTR_ZSTACK_UNREACHABLE');
    assert.match(String(err.details.cause), /CERT/);
    assert.ok(err.message.includes(endpoint));
  });

  it('connects without verification when rejectUnauthorized is false', async () => {
    assert.equal(await client({ caFile: null, rejectUnauthorized: false }).count('vm-instances', []), 42);
  });
});
