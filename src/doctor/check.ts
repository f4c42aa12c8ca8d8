// One doctor check's result: a stable name, a status, what was found, and what to do about it.
// `detail` and `fix` never hold secrets: checks name keys and paths, never values.

export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  name: string;
  status: CheckStatus;
  detail: string;
  /** What to do; null when there is nothing to do. */
  fix: string | null;
}

export const pass = (name: string, detail: string): CheckResult => ({ name, status: 'pass', detail, fix: null });
export const skip = (name: string, detail: string): CheckResult => ({ name, status: 'skip', detail, fix: null });
export const warn = (name: string, detail: string, fix: string): CheckResult => ({ name, status: 'warn', detail, fix });
export const fail = (name: string, detail: string, fix: string): CheckResult => ({ name, status: 'fail', detail, fix });

/** The worst of several statuses (fail > warn > pass > skip), for a check made of parts. */
export function worst(statuses: CheckStatus[]): CheckStatus {
  for (const s of ['fail', 'warn', 'pass'] as const) if (statuses.includes(s)) return s;
  return 'skip';
}
