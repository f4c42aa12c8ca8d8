// Check "login": the MN accepts our credentials. Logs in and out again (a session is all it creates);
// with an AccessKey, one signed count query (there is no login to try).
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { GtrError, messageOf } from '../errors.js';
import { clientFromConfig } from '../zstack/from-config.js';
import { fail, pass, type CheckResult } from './check.js';

const FIXES: Partial<Record<string, string>> = {
  GTR_ZSTACK_LOGIN_REFUSED: 'check zstack.accountName and the password (zstack.password or zstack.passwordFile); try them in the UI',
  GTR_ZSTACK_ACCESS_KEY_REFUSED: 'see the message: check zstack.accessKeyId, its secret and that the key is Enabled in AccessKey Management',
  GTR_CONFIG_INVALID: 'set zstack.passwordFile (a file readable only by the gtr user) or GTR_ZSTACK_PASSWORD_FILE, or an AccessKey (zstack.accessKeyId with zstack.accessKeySecretFile)',
};

export async function checkLogin(config: Config, logger: Logger): Promise<CheckResult> {
  let client;
  try {
    client = clientFromConfig(config, logger);
    const accessKeyId = config.zstack.accessKeyId;
    if (accessKeyId !== null) {
      await client.count('vm-instances', ['uuid=gtr-doctor-probe']);
      return pass('login', `AccessKey ${accessKeyId} accepted (a signed query)`);
    }
    await client.login();
    return pass('login', `account ${config.zstack.accountName} logged in and out`);
  } catch (error) {
    const code = error instanceof GtrError ? error.code : 'internal';
    return fail('login', messageOf(error).replace(/\s*\n\s*/g, ' '), FIXES[code] ?? 'see the endpoint and api-version checks; run with log.level debug for the exchange');
  } finally {
    await client?.close();
  }
}
