// Async API jobs (`/zstack/v1/api-jobs/{id}`): client-chosen X-Job-UUID, duplicates refused, polls
// answer 202 empty while running, 200 with the result, 503 with the error, 404 when unknown.
import { randomHexUuid } from './rng.js';
import type { ApiName } from './types.js';
import { empty, errorReply, text, type SimReply, type ZsError } from './wire.js';
import { isUuid } from '../uuid.js';

export interface Job {
  uuid: string;
  api: ApiName;
  vmUuid?: string;
  state: 'running' | 'succeeded' | 'failed';
  /** Success body ('' for an empty ApiResponse). */
  body: string;
  error?: ZsError;
}

type JobIdCheck = { ok: true; uuid: string } | { ok: false; reply: SimReply };

export class Jobs {
  private readonly jobs = new Map<string, Job>();

  /** RestServer checks the header's format, then that no job has this id yet. */
  checkHeader(value: string | undefined): JobIdCheck {
    if (value === undefined) return { ok: true, uuid: randomHexUuid() };
    if (!isUuid(value.toLowerCase())) return { ok: false, reply: text(400, "Invalid header[X-Job-UUID], it must be a UUID with '-' stripped") };
    if (this.jobs.has(value)) return { ok: false, reply: text(400, `Duplicate job uuid[${value}]`) };
    return { ok: true, uuid: value };
  }

  create(uuid: string, api: ApiName, vmUuid?: string): Job {
    const job: Job = { uuid, api, vmUuid, state: 'running', body: '' };
    this.jobs.set(uuid, job);
    return job;
  }

  get(uuid: string): Job | undefined {
    return this.jobs.get(uuid);
  }

  succeed(job: Job, body = ''): void {
    if (this.jobs.get(job.uuid) !== job || job.state !== 'running') return;
    job.state = 'succeeded';
    job.body = body;
  }

  fail(job: Job, error: ZsError): void {
    if (this.jobs.get(job.uuid) !== job || job.state !== 'running') return;
    job.state = 'failed';
    job.error = error;
  }

  /** Is this job object still the live one (not dropped by a restart)? */
  alive(job: Job): boolean {
    return this.jobs.get(job.uuid) === job;
  }

  poll(method: string, uuid: string): SimReply {
    if (method !== 'GET') return text(405, 'only GET method is allowed for querying job status');
    const job = this.jobs.get(uuid);
    if (!job) return text(404, 'the job has been expired');
    if (job.state === 'running') return empty(202);
    if (job.state === 'failed' && job.error) return errorReply(job.error);
    return { status: 200, body: job.body };
  }

  clear(): void {
    this.jobs.clear();
  }
}
