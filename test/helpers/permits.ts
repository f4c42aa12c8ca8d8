// Start permits for the ZStack client's own tests, which send single actions to the simulator outside
// any run. The product issues permits only in src/apply/start-path.ts (eslint.config.js enforces it);
// the start path and its gates are tested through runs (test/e2e-start-path.test.ts and others).
import { newJobUuid, StartPermit, type ActionApi, type ActionOptions } from '../../src/zstack/client.js';

/**
 * `permit` for one action: the first PUT with `jobUuid`, a re-send after ID.1001 with a new uuid
 * (reported to `onResend`), as the start path would when every gate lets it through.
 */
export function permits(api: ActionApi, vmUuid: string, jobUuid: string, onResend?: (jobUuid: string) => void): ActionOptions['permit'] {
  return async (attempt) => {
    if (attempt === 'first') return StartPermit.issue(api, vmUuid, jobUuid);
    const next = newJobUuid();
    onResend?.(next);
    return StartPermit.issue(api, vmUuid, next);
  };
}
