// Start permits for the ZStack client's own tests, which send single calls to the simulator outside
// any run. The product issues permits only in src/apply/start-path.ts (eslint.config.js enforces it);
// the start path and its gates are tested through runs (test/e2e-start-path.test.ts and others).
import { newJobUuid, StartPermit, type ActionOptions, type StartApi } from '../../src/zstack/client.js';

/**
 * `permit` for one call: the first request with `jobUuid`, a re-send after ID.1001 with a new uuid
 * (reported to `onResend`), as the start path would when every gate lets it through. `subject` is the
 * VM uuid of an attach or detach, the resourceUuid of a script to create, executeSubject() of a batch.
 */
export function permits(api: StartApi, subject: string, jobUuid: string, onResend?: (jobUuid: string) => void): ActionOptions['permit'] {
  return async (attempt) => {
    if (attempt === 'first') return StartPermit.issue(api, subject, jobUuid);
    const next = newJobUuid();
    onResend?.(next);
    return StartPermit.issue(api, subject, next);
  };
}

/** One permit, for tests that hand the client a permit for the wrong call on purpose. */
export function permitFor(api: StartApi, subject: string, jobUuid = newJobUuid()): StartPermit {
  return StartPermit.issue(api, subject, jobUuid);
}
