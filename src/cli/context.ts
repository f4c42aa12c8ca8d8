// Builds a command's dependencies once: config, logger, the event notifier, and (lazily) the ledger and
// the ZStack client.
// Commands receive this object instead of reaching for globals.
import type { Logger } from 'pino';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { Ledger } from '../ledger/index.js';
import type { CommonFlags } from './args.js';
import { cliLogger, logChoice } from './log-output.js';
import { terminalOn, type Terminal } from './terminal.js';
import { NO_PROFILER, type Profiler } from '../profile/profile.js';
import type { ZStackClient } from '../zstack/client.js';
import { clientFromConfig } from '../zstack/from-config.js';
import type { EventSink } from '../events.js';
import type { Peer } from '../ha/peer-client.js';
import { EXIT_DRAIN_MS, notifierFromConfig } from '../notify/from-config.js';
import { leaderCheckFromConfig } from '../ha/from-config.js';
import type { LeaderCheck } from '../ha/leader-check.js';

export interface Context {
  readonly config: Config;
  readonly logger: Logger;
  /** stderr: log lines and the progress bar's status line (never drawn into each other). */
  readonly terminal: Terminal;
  readonly profiler: Profiler;
  /** notify.webhooks; close() waits up to EXIT_DRAIN_MS for deliveries still queued. */
  readonly events: EventSink;
  /** The other management node's daemon (ha.peer with the ha token); null without ha.peer. */
  readonly peer: Peer | null;
  ledger(): Ledger;
  /** The ledger opened read-only (gtr status): never created, migrated or written; a missing file is GTR_LEDGER_UNUSABLE. */
  readOnlyLedger(): Ledger;
  /** `abandonCalls` (first call only): aborting it abandons every call in flight (shutdown after its grace). */
  client(abandonCalls?: AbortSignal): ZStackClient;
  /** ha.leaderCheck (a new one per call; its background refresh is the caller's to stop). */
  leaderCheck(): LeaderCheck;
  close(): Promise<void>;
}

/** Builds a command's context from its parsed flags (the config file and the log flags). */
export type MakeContext = (flags: CommonFlags) => Context;

export function createContext(flags: CommonFlags, env: NodeJS.ProcessEnv = process.env, profiler: Profiler = NO_PROFILER): Context {
  const { config, warnings, webhookSecrets, haToken } = loadConfig({ file: flags.config ?? null, env });
  const terminal = terminalOn(process.stderr);
  const logger = cliLogger(logChoice(flags, config.log.level, process.stderr.isTTY === true), terminal);
  for (const warning of warnings) logger.warn({ warning }, 'configuration warning');
  let ledger: Ledger | null = null;
  let client: ZStackClient | null = null;
  const notifier = notifierFromConfig(config, webhookSecrets, logger);
  return {
    config,
    logger,
    terminal,
    profiler,
    events: notifier,
    peer: config.ha.peer !== null && haToken !== null ? { url: config.ha.peer, token: haToken } : null,
    ledger() {
      // The identity unless GTR_PROFILE_FILE is set (benchmark).
      ledger ??= profiler.profiled(Ledger.open(config.database));
      return ledger;
    },
    readOnlyLedger() {
      ledger ??= Ledger.open(config.database, { readonly: true });
      return ledger;
    },
    client(abandonCalls) {
      client ??= clientFromConfig(config, logger, abandonCalls);
      return client;
    },
    leaderCheck() {
      return leaderCheckFromConfig(config, env);
    },
    async close() {
      await client?.close();
      ledger?.close();
      await notifier.close(EXIT_DRAIN_MS);
    },
  };
}
