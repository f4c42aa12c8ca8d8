// `gtr doctor`: every check in order, each one independent of the state it inspects (nothing is
// written, migrated or leased). A check whose prerequisite failed is skipped, saying which.
import { createLogger } from '../log.js';
import { skip, type CheckResult } from './check.js';
import { checkConfig } from './config-check.js';
import { checkDatabase } from './database-check.js';
import { endpointChecks, speaksZStack } from './endpoint-checks.js';
import { checkIsoCatalog } from './iso-check.js';
import { checkLeader } from './leader-check.js';
import { checkLogin } from './login-check.js';
import { checkInstallApis, INSTALL_CHECKS } from './install-check.js';
import { probeManagementNode } from './mn-probe.js';
import { checkPlatform } from './platform-check.js';
import { checkSecrets } from './secrets-check.js';
import { checkSystemd } from './systemd-check.js';

export interface DoctorReport {
  ok: boolean;
  /** The configuration could not be loaded: the other checks were skipped (exit 2). */
  configInvalid: boolean;
  checks: CheckResult[];
}

const AFTER_CONFIG = ['secrets', 'iso-catalog', 'database', 'lease', 'endpoint', 'tls', 'clock-skew', 'api-version', 'login', ...INSTALL_CHECKS, 'leader', 'systemd'];

export async function runDoctor(configFile: string | undefined, env: NodeJS.ProcessEnv): Promise<DoctorReport> {
  const { check, loaded } = checkConfig(configFile, env);
  if (loaded === null) {
    return { ok: false, configInvalid: true, checks: [check, ...AFTER_CONFIG.map((name) => skip(name, 'configuration invalid')), checkPlatform()] };
  }
  const config = loaded.config;
  const logger = createLogger({ level: config.log.level, destination: 'stderr' });
  const checks: CheckResult[] = [check, checkSecrets(loaded), await checkIsoCatalog(config), ...checkDatabase(config.database, Date.now())];
  const probe = await probeManagementNode(config);
  checks.push(...endpointChecks(config, probe));
  const login = probe.kind === 'reply' && speaksZStack(probe) ? await checkLogin(config, logger) : skip('login', probe.kind === 'reply' ? 'the endpoint is not a ZStack MN' : 'the MN was not reached');
  checks.push(login);
  checks.push(...(login.status === 'pass' ? await checkInstallApis(config, logger) : INSTALL_CHECKS.map((name) => skip(name, 'login did not pass'))));
  checks.push(await checkLeader(config, env), await checkSystemd(), checkPlatform());
  return { ok: checks.every((c) => c.status !== 'fail'), configInvalid: false, checks };
}
