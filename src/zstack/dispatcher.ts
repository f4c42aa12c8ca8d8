// The default undici Agent: plain for http, with the configured CA and verification for https.
import { readFileSync } from 'node:fs';
import { Agent } from 'undici';
import { ConfigError, GtrError } from '../errors.js';

interface TlsOptions {
  caFile: string | null;
  rejectUnauthorized: boolean;
}

/** The endpoint without trailing slashes, validated as an http(s) URL. */
export function normalizeEndpoint(endpoint: string): string {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new ConfigError([{ key: 'zstack.endpoint', value: endpoint, expected: 'an http:// or https:// URL' }], 'ZStack client');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError([{ key: 'zstack.endpoint', value: endpoint, expected: 'an http:// or https:// URL' }], 'ZStack client');
  }
  return endpoint.replace(/\/+$/, '');
}

export function createAgent(endpoint: string, tls: TlsOptions | undefined, connectTimeoutMs: number): Agent {
  if (new URL(endpoint).protocol !== 'https:') return new Agent({ connect: { timeout: connectTimeoutMs } });
  const rejectUnauthorized = tls?.rejectUnauthorized ?? true;
  let ca: string | undefined;
  if (tls?.caFile) {
    try {
      ca = readFileSync(tls.caFile, 'utf8');
    } catch (err) {
      const reason = (err as NodeJS.ErrnoException).code ?? 'unreadable';
      throw new GtrError('GTR_CONFIG_UNREADABLE', `zstack.tls.caFile: cannot read ${JSON.stringify(tls.caFile)} (${reason})`, {
        cause: err,
        details: { key: 'zstack.tls.caFile', path: tls.caFile },
      });
    }
  }
  return new Agent({ connect: { timeout: connectTimeoutMs, rejectUnauthorized, ...(ca === undefined ? {} : { ca }) } });
}
