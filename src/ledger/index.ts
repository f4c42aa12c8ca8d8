// The ledger's public surface: the Ledger class, its record types and the migration runner.
export { Ledger, type LedgerOpenOptions } from './ledger.js';
export type { AttentionRow } from './attention.js';
export type { InstallHistory, InstallPlatform, InstallRow, InstallScript, InstallState, MountedIso, Settlement } from './installs.js';
export type { FunnelCount, FunnelStage, InstallFailure } from './install-funnel.js';
export type { AcquireResult } from './lease.js';
export { trimDecisions, type DecisionTrim, type KeyUpdate } from './decision-keys.js';
export { DEFAULT_MIGRATIONS_DIR, migrate, pendingMigrations, readMigrations, type MigrationFile } from './migrate.js';
export { defaultIsAlive, isPidAlive, selfIdentity, type ProcessIdentity } from './process-alive.js';
export type {
  VerifiedBy, ActionError, ActionRecord, DecisionAction, DecisionRow, IsAlive, LastAttach, LeaseHolder, Outcome, PendingJob, QuarantinePolicy, Resolution,
  RunRecord, RunStatus, RunTrigger, RunWarning, VmState,
} from './types.js';
export { quarantineUntil, type Regression } from './vm-state.js';
export { removeSnapshotFile, schemaName, verifySnapshot, type SnapshotFacts } from './snapshot.js';
