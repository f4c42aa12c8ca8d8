// Check "login": the MN accepts our credentials. Logs in and out again (a session is all it creates).
import type { Logger } from 'pino';
import type { Config } from '../config/types.js';
import { GtrError } from '../errors.js';
import { clientFromConfig } from '../zstack/from-config.js';
import { errorMessage, fail, pass, type CheckResult } from './check.js';

const FIXES: Partial<Record<string, string>> = {
  GTR_ZSTACK_LOGIN_REFUSED: 'check zstack.accountName and the password (zstack.password or zstack.passwordFile); try them in the UI',
  GTR_CONFIG_INVALID: 'set zstack.passwordFile (a file readable only by the gtr user) or GTR_ZSTACK_PASSWORD_FILE',
};

export async function checkLogin(config: Config, logger: Logger): Promise<CheckResult> {
  let client;
  try {
    client = clientFromConfig(config, logger);
    await client.login();
    return pass('login', `account ${config.zstack.accountName} logged in and out`);
  } catch (error) {
    const code = error instanceof GtrError ? error.code : 'internal';
    return fail('login', errorMessage(error).replace(/\s*\n\s*/g, ' '), FIXES[code] ?? 'see the endpoint and api-version checks; run with log.level debug for the exchange');
  } finally {
    await client?.close();
  }
}
