// Check "secrets": every file that holds a secret is readable by this user and by nobody it should not be.
// Group read is allowed with a warning (the installed layout is root:gtr 0640); read by others fails.
import fs from 'node:fs';
import type { LoadedConfig } from '../config/load.js';
import { inlineSecret, readConfigFile } from '../config/layers.js';
import { pass, skip, worst, type CheckResult, type CheckStatus } from './check.js';

interface SecretFile {
  /** The config key naming the file, or "config file". */
  key: string;
  path: string;
}

/** The files that hold secrets in this configuration. */
function secretFiles(loaded: LoadedConfig): SecretFile[] {
  const c = loaded.config;
  const files: SecretFile[] = [];
  if (loaded.source !== 'defaults' && fileHoldsSecret(loaded.source)) files.push({ key: 'config file', path: loaded.source });
  if (c.zstack.passwordFile !== null) files.push({ key: 'zstack.passwordFile', path: c.zstack.passwordFile });
  if (c.zstack.accessKeySecretFile !== null) files.push({ key: 'zstack.accessKeySecretFile', path: c.zstack.accessKeySecretFile });
  if (c.http.auth.tokenFile !== null) files.push({ key: 'http.auth.tokenFile', path: c.http.auth.tokenFile });
  if (c.http.auth.basicFile !== null) files.push({ key: 'http.auth.basicFile', path: c.http.auth.basicFile });
  return files;
}

function fileHoldsSecret(file: string): boolean {
  return inlineSecret(readConfigFile(file).data) !== undefined;
}

export function checkSecrets(loaded: LoadedConfig): CheckResult {
  const files = secretFiles(loaded);
  if (files.length === 0) return skip('secrets', 'no file holds a secret (the password comes from the environment, or none is set)');
  const parts = files.map(inspect);
  const status = worst(parts.map((p) => p.status));
  const fixes = parts.flatMap((p) => (p.fix ? [p.fix] : []));
  const detail = parts.map((p) => p.detail).join('; ');
  return status === 'pass' ? pass('secrets', detail) : { name: 'secrets', status, detail, fix: fixes.join('; ') };
}

function inspect(file: SecretFile): { status: CheckStatus; detail: string; fix: string | null } {
  const where = `${file.key} ${file.path}`;
  let mode: number;
  try {
    mode = fs.statSync(file.path).mode;
    fs.accessSync(file.path, fs.constants.R_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    return { status: 'fail', detail: `${where} cannot be read (${code})`, fix: `make ${file.path} readable by the user gtr runs as` };
  }
  const octal = (mode & 0o777).toString(8).padStart(3, '0');
  if ((mode & 0o007) !== 0) return { status: 'fail', detail: `${where} is readable by others (mode ${octal})`, fix: `chmod 600 ${file.path} (or 640 with group gtr)` };
  if ((mode & 0o070) !== 0) return { status: 'warn', detail: `${where} is readable by its group (mode ${octal})`, fix: `keep the group to the service's own (chgrp gtr ${file.path}) or chmod 600 ${file.path}` };
  return { status: 'pass', detail: `${where} (mode ${octal})`, fix: null };
}
