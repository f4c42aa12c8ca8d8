// Check "config": the configuration loads and validates, the same way every other command loads it.
import { ConfigError, GtrError, messageOf } from '../errors.js';
import { DEFAULT_CONFIG_PATH } from '../config/layers.js';
import { loadConfig, type LoadedConfig } from '../config/load.js';
import { fail, pass, warn, type CheckResult } from './check.js';

const CONFIG_FIX = 'fix the configuration (see config/example.jsonc and the README "Configuration" section)';

export function checkConfig(file: string | undefined, env: NodeJS.ProcessEnv): { check: CheckResult; loaded: LoadedConfig | null } {
  try {
    const loaded = loadConfig({ file: file ?? null, env });
    if (loaded.source === 'defaults') {
      return {
        loaded,
        check: warn('config', `no configuration file (no --config, no GTR_CONFIG, no ${DEFAULT_CONFIG_PATH}): built-in defaults only`,
          `create ${DEFAULT_CONFIG_PATH} from config/example.jsonc, or pass --config FILE`),
      };
    }
    return { loaded, check: pass('config', `${loaded.source} is valid`) };
  } catch (error) {
    if (error instanceof ConfigError) {
      const problems = error.problems.map((p) => `${p.key}: expected ${p.expected}`).join('; ');
      return { loaded: null, check: fail('config', `invalid: ${problems}`, CONFIG_FIX) };
    }
    if (error instanceof GtrError) return { loaded: null, check: fail('config', messageOf(error), CONFIG_FIX) };
    throw error;
  }
}
