// One unauthenticated GET of QueryGuestToolsState's path (zstack-api.md 10.2): the MN answers 404
// `no api mapping` before any auth when the API is absent, 400 (missing Authorization) when present.
// The same exchange shows whether the endpoint is reachable, whether TLS verifies, and the MN's clock
// (its Date header). No credential is sent.
// Note: the ZStack client does not (yet) expose this probe or reply headers; when it does, use it here.
import { messageOf } from '../errors.js';
import { performance } from 'node:perf_hooks';
import { request } from 'undici';
import type { Config } from '../config/schema.js';
import { createAgent, normalizeEndpoint } from '../zstack/dispatcher.js';
import { errorCode } from '../zstack/http.js';

const PROBE_PATH = '/zstack/v1/guesttools';
const MAX_BODY_BYTES = 4096;

export type Probe =
  | { kind: 'reply'; url: string; status: number; text: string; date: string | null; sentAt: number; receivedAt: number }
  | { kind: 'error'; url: string; code: string; message: string };

export async function probeManagementNode(config: Config): Promise<Probe> {
  const z = config.zstack;
  const url = `${normalizeEndpoint(z.endpoint)}${PROBE_PATH}`;
  let agent;
  try {
    agent = createAgent(z.endpoint, z.tls, z.requestTimeoutMs);
  } catch (error) {
    return { kind: 'error', url, code: 'CA_FILE_UNREADABLE', message: messageOf(error) };
  }
  try {
    // Wall-clock times: the Date header is compared with this host's clock.
    const sentAt = Date.now();
    const started = performance.now();
    const res = await request(url, { dispatcher: agent, method: 'GET', headersTimeout: z.requestTimeoutMs, bodyTimeout: z.requestTimeoutMs });
    const receivedAt = sentAt + (performance.now() - started);
    const text = await readStart(res.body);
    const date = res.headers.date;
    return { kind: 'reply', url, status: res.statusCode, text, date: typeof date === 'string' ? date : null, sentAt, receivedAt };
  } catch (error) {
    return { kind: 'error', url, code: errorCode(error), message: messageOf(error) };
  } finally {
    await agent.close();
  }
}

async function readStart(body: AsyncIterable<Buffer> & { destroy(): unknown }): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= MAX_BODY_BYTES) break;
  }
  return Buffer.concat(chunks).toString('utf8').slice(0, MAX_BODY_BYTES);
}
