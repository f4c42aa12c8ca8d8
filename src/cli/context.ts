// Builds a command's dependencies once: config, logger, the event notifier, and (lazily) the ledger and
// the ZStack client.
// Commands receive this object instead of reaching for globals.
import type { Logger } from 'pino';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/types.js';
import { Ledger } from '../ledger/index.js';
import { createLogger } from '../log.js';
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
  readonly profiler: Profiler;
  /** notify.webhooks; close() waits up to EXIT_DRAIN_MS for deliveries still queued. */
  readonly events: EventSink;
  /** The other management node's daemon (ha.peer with the ha token); null without ha.peer. */
  readonly peer: Peer | null;
  ledger(): Ledger;
  /** `abandonCalls` (first call only): aborting it abandons every call in flight (shutdown after its grace). */
  client(abandonCalls?: AbortSignal): ZStackClient;
  /** ha.leaderCheck (a new one per call; its background refresh is the caller's to stop). */
  leaderCheck(): LeaderCheck;
  close(): Promise<void>;
}

export function createContext(configFile: string | undefined, env: NodeJS.ProcessEnv = process.env, profiler: Profiler = NO_PROFILER): Context {
  const { config, warnings, webhookSecrets, haToken } = loadConfig({ file: configFile ?? null, env });
  const logger = createLogger({ level: config.log.level, destination: 'stderr' });
  for (const warning of warnings) logger.warn({ warning }, 'configuration warning');
  let ledger: Ledger | null = null;
  let client: ZStackClient | null = null;
  const notifier = notifierFromConfig(config, webhookSecrets, logger);
  return {
    config,
    logger,
    profiler,
    events: notifier,
    peer: config.ha.peer !== null && haToken !== null ? { url: config.ha.peer, token: haToken } : null,
    ledger() {
      // The identity unless GTR_PROFILE_FILE is set (benchmark).
      ledger ??= profiler.profiled(Ledger.open(config.database));
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
