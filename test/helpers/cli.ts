// Helpers for end-to-end tests: a temp work folder with an ISO folder and a config file, the built
// CLI run as a real child process, and bounded waits on conditions (never blind sleeps).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSimulator, writeIsoDir, type SimIso, type SimOptions, type Simulator } from '../../src/sim/index.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const GTR = join(ROOT, 'bin', 'gtr.js');

export const DEFAULT_ISOS: SimIso[] = [
  { agentType: 'WindowsOnKvm', architecture: 'x86_64', version: '1.2.0' },
  { agentType: 'WindowsOnKvm', architecture: 'aarch64', version: '1.2.0' },
  { agentType: 'LinuxOnKvm', architecture: 'general', version: '1.2.0' },
];

export interface Workspace {
  dir: string;
  isoDir: string;
  database: string;
  configPath: string;
  writeConfig(config: Record<string, unknown>): string;
  cleanup(): void;
}

/** A temp folder with an ISO folder; writeConfig merges the given keys over sensible test settings. */
export async function workspace(isos: SimIso[] = DEFAULT_ISOS): Promise<Workspace> {
  const dir = mkdtempSync(join(tmpdir(), 'gtr-test-'));
  const isoDir = join(dir, 'zstack-dvd');
  await writeIsoDir(isoDir, isos);
  const database = join(dir, 'state.db');
  const configPath = join(dir, 'config.json');
  return {
    dir,
    isoDir,
    database,
    configPath,
    writeConfig(config) {
      writeFileSync(configPath, JSON.stringify(config, null, 2), { mode: 0o600 });
      return configPath;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface SimSetup {
  sim: Simulator;
  ws: Workspace;
  /** The config file written for the simulator (simConfig with the given `extra`). */
  config: string;
}

/**
 * A simulator with `simOpts`, a workspace and its config file; the simulator is closed and the folder
 * removed after `fn`, whatever it did.
 */
export async function withSimSetup(
  simOpts: SimOptions,
  extra: Parameters<typeof simConfig>[2],
  fn: (s: SimSetup) => Promise<void>,
  isos: SimIso[] = DEFAULT_ISOS,
): Promise<void> {
  const sim = await startSimulator({ isos, ...simOpts });
  const ws = await workspace(isos);
  try {
    await fn({ sim, ws, config: ws.writeConfig(simConfig(ws, sim, extra)) });
  } finally {
    await sim.close();
    ws.cleanup();
  }
}

/** Config for a simulator endpoint, fast polling, test-sized limits; `extra` is merged per section. */
export function simConfig(
  ws: Workspace,
  sim: { endpoint: string; accountName: string; password: string },
  extra: Record<string, Record<string, unknown> | string> = {},
): Record<string, unknown> {
  const base: Record<string, Record<string, unknown> | string> = {
    zstack: { endpoint: sim.endpoint, accountName: sim.accountName, password: sim.password, jobPollIntervalMs: 5, requestTimeoutMs: 5000 },
    isoDir: ws.isoDir,
    database: ws.database,
    policy: { maxConcurrency: 10, maxPerHost: 2, maxErrors: '50%' },
    log: { level: 'warn' },
  };
  for (const [key, value] of Object.entries(extra)) {
    const current = base[key];
    base[key] = typeof value === 'object' && typeof current === 'object' ? { ...current, ...value } : value;
  }
  return base;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function gtr(args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [GTR, ...args], {
      env: { ...cleanEnv(), ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The environment without GTR_* variables of the developer's shell. */
export function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GTR_')));
}

export function spawnGtr(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess & { output: () => { stdout: string; stderr: string } } {
  const child = spawn(process.execPath, [GTR, ...args], { env: { ...cleanEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  return Object.assign(child, { output: () => ({ stdout, stderr }) });
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes (then throws with `what`). */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, timeoutMs = 20_000, everyMs = 20): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

/** A port nothing listens on right now (for a program that must bind a fixed port itself). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** What `fn` throws; fails the test when it returns. */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return assert.fail('expected an error');
}
