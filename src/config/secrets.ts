// Reading secret and certificate files named by the config. Problems name the key and the path,
// never the content.
import fs from 'node:fs';

type Report = (key: string, value: unknown, expected: string) => void;

function errno(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? 'error';
}

/** A secret file's text; null after reporting it unreadable. A file readable by group or others draws a warning. */
export function readSecretFile(key: string, file: string, what: string, report: Report, warnings: string[]): string | null {
  let text: string;
  let mode: number;
  try {
    mode = fs.statSync(file).mode;
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    report(key, file, `a readable file holding ${what} (${errno(error)})`);
    return null;
  }
  if ((mode & 0o077) !== 0) warnings.push(groupReadableWarning(key, file, mode, what));
  return text;
}

/** A one-line secret (password, AccessKey secret, signing secret) without trailing newlines; null after reporting a problem. */
export function readSecretLine(key: string, file: string, what: string, report: Report, warnings: string[]): string | null {
  const secret = readSecretFile(key, file, what, report, warnings)?.replace(/[\r\n]+$/, '');
  if (secret === undefined) return null;
  if (secret !== '') return secret;
  report(key, file, `a file holding ${what} (this one is empty)`);
  return null;
}

export function groupReadableWarning(where: string, file: string, mode: number, what = 'a password'): string {
  const octal = (mode & 0o777).toString(8).padStart(3, '0');
  return `${where} ${file} holds ${what} and is readable by group or others (mode ${octal}); run: chmod 600 ${file}`;
}

export function checkReadableFile(key: string, file: string, expected: string, report: Report): void {
  try {
    if (!fs.statSync(file).isFile()) throw Object.assign(new Error('not a file'), { code: 'ENOTFILE' });
    fs.accessSync(file, fs.constants.R_OK);
  } catch (error) {
    report(key, file, `${expected} (${errno(error)})`);
  }
}
