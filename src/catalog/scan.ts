// The ISO catalog: walk isoDir (bounded depth, symlinks followed, loops detected), recognise the
// GuestTools ISOs by name, take the architecture from the path and pick the highest version per
// (agent type, architecture). Never the newest file: mtimes are not looked at.
import fs from 'node:fs/promises';
import path from 'node:path';
import { ARCHITECTURES, type AgentType, type CatalogTarget, type IsoArchitecture } from '../domain.js';
import { GtrError } from '../errors.js';
import { compareVersions, isPrerelease, parseVersion, type Version } from '../tools-version.js';

interface IsoFile {
  path: string;
  name: string;
  agentType: AgentType;
  architecture: IsoArchitecture | null;
  /** The version text from the name when it parses, else null. */
  version: string | null;
  status: 'ok' | 'unparseable-version' | 'no-architecture' | 'prerelease-ignored';
}

/** Something the scan could not use: unreadable folder, symlink loop, too deep, unparseable name. */
interface CatalogProblem {
  path: string;
  problem: string;
}

export interface Catalog {
  isoDir: string;
  files: IsoFile[];
  problems: CatalogProblem[];
  targets: CatalogTarget[];
}

interface ScanOptions {
  allowPrerelease: boolean;
  /** Folders below isoDir that are entered at most; default 8. */
  maxDepth?: number;
}

// The Linux prefix first: both start with "GuestTools".
const PREFIXES: ReadonlyArray<readonly [string, AgentType]> = [
  ['GuestTools_linux-', 'LinuxOnKvm'],
  ['GuestTools-', 'WindowsOnKvm'],
];
const ISO_ARCHITECTURES: ReadonlySet<string> = new Set([...ARCHITECTURES, 'general']);

/** Code-unit order: the same on every machine, whatever the locale. */
function byText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Agent type and version text of a GuestTools ISO file name, or null for any other file. */
function parseIsoName(name: string): { agentType: AgentType; versionText: string } | null {
  if (!name.endsWith('.iso')) return null;
  for (const [prefix, agentType] of PREFIXES) {
    if (name.startsWith(prefix)) return { agentType, versionText: name.slice(prefix.length, -'.iso'.length) };
  }
  return null;
}

/** The deepest folder of the path that names an architecture or `general`. */
function architectureOfPath(filePath: string): IsoArchitecture | null {
  const folders = path.dirname(filePath).split(path.sep);
  for (let i = folders.length - 1; i >= 0; i--) {
    if (ISO_ARCHITECTURES.has(folders[i])) return folders[i] as IsoArchitecture;
  }
  return null;
}

function errnoOf(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? 'error';
}

async function checkIsoDir(root: string): Promise<string> {
  const fix = 'set isoDir in the config (or GTR_ISO_DIR) to the folder that holds the GuestTools ISOs, normally /opt/zstack-dvd';
  try {
    const stat = await fs.stat(root);
    if (!stat.isDirectory()) throw new GtrError('GTR_CATALOG_UNUSABLE', `ISO folder ${root} is not a folder; ${fix}`, { details: { isoDir: root } });
    await fs.access(root, fs.constants.R_OK | fs.constants.X_OK);
    return await fs.realpath(root);
  } catch (error) {
    if (error instanceof GtrError) throw error;
    const code = errnoOf(error);
    const what = code === 'ENOENT' ? 'does not exist' : `cannot be read (${code})`;
    throw new GtrError('GTR_CATALOG_UNUSABLE', `ISO folder ${root} ${what}; ${fix}, and let the reconciler's user read it`, {
      cause: error,
      details: { isoDir: root, errno: code },
    });
  }
}

class Walker {
  readonly files: IsoFile[] = [];
  readonly problems: CatalogProblem[] = [];
  constructor(
    private readonly opts: Required<ScanOptions>,
    private readonly root: string,
  ) {}

  async walk(dir: string, depth: number, ancestors: Set<string>): Promise<void> {
    let entries;
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch (error) {
      this.problems.push({ path: dir, problem: `cannot read folder (${errnoOf(error)}); skipped` });
      return;
    }
    entries.sort((a, b) => byText(a.name, b.name));
    for (const entry of entries) {
      const full = path.join(dir, entry.name);
      let isDir = entry.isDirectory();
      let isFile = entry.isFile();
      if (entry.isSymbolicLink()) {
        try {
          const stat = await fs.stat(full);
          isDir = stat.isDirectory();
          isFile = stat.isFile();
        } catch (error) {
          if (parseIsoName(entry.name)) this.problems.push({ path: full, problem: `broken symbolic link (${errnoOf(error)})` });
          continue;
        }
      }
      if (isFile) this.addFile(full, entry.name);
      else if (isDir) await this.enter(full, depth + 1, ancestors);
    }
  }

  private async enter(dir: string, depth: number, ancestors: Set<string>): Promise<void> {
    if (depth > this.opts.maxDepth) {
      this.problems.push({ path: dir, problem: `too deep: more than ${this.opts.maxDepth} folders below ${this.root}; not scanned` });
      return;
    }
    let real: string;
    try {
      real = await fs.realpath(dir);
    } catch (error) {
      this.problems.push({ path: dir, problem: `cannot resolve folder (${errnoOf(error)}); skipped` });
      return;
    }
    if (ancestors.has(real)) {
      this.problems.push({ path: dir, problem: `symbolic link loop back to ${real}; not followed` });
      return;
    }
    ancestors.add(real);
    await this.walk(dir, depth, ancestors);
    ancestors.delete(real);
  }

  private addFile(full: string, name: string): void {
    const parsed = parseIsoName(name);
    if (!parsed) return;
    const version = parseVersion(parsed.versionText);
    const architecture = architectureOfPath(full);
    const file: IsoFile = { path: full, name, agentType: parsed.agentType, architecture, version: version ? parsed.versionText : null, status: 'ok' };
    if (!version) {
      file.status = 'unparseable-version';
      this.problems.push({ path: full, problem: `unparseable version ${JSON.stringify(parsed.versionText)} in the file name; ignored` });
    } else if (!architecture) {
      file.status = 'no-architecture';
      this.problems.push({ path: full, problem: `no architecture folder (${[...ISO_ARCHITECTURES].join(', ')}) in the path; ignored` });
    } else if (isPrerelease(version) && !this.opts.allowPrerelease) {
      file.status = 'prerelease-ignored';
    }
    this.files.push(file);
  }
}

/** Highest version per (agent type, architecture); on a tie the first path in sorted order stays. */
function pickTargets(files: readonly IsoFile[]): CatalogTarget[] {
  const best = new Map<string, { file: IsoFile; version: Version }>();
  for (const file of [...files].sort((a, b) => byText(a.path, b.path))) {
    if (file.status !== 'ok' || file.version === null || file.architecture === null) continue;
    const version = parseVersion(file.version);
    if (!version) continue;
    const key = `${file.agentType}\u0000${file.architecture}`;
    const current = best.get(key);
    if (!current || compareVersions(version, current.version) > 0) best.set(key, { file, version });
  }
  return [...best.values()]
    .map(({ file }): CatalogTarget => ({ agentType: file.agentType, architecture: file.architecture as IsoArchitecture, version: file.version as string, iso: file.path }))
    .sort((a, b) => byText(a.agentType, b.agentType) || byText(a.architecture, b.architecture));
}

/**
 * The catalog's targets; an ISO folder without one is an error, never a quiet no-op (docs/design.md 1): after a
 * botched MN upgrade the reconciler would otherwise go idle unnoticed.
 * @throws GtrError GTR_CATALOG_EMPTY naming the folder.
 */
export function requireTargets(catalog: Catalog): CatalogTarget[] {
  if (catalog.targets.length > 0) return catalog.targets;
  const ignored = catalog.files.length > 0 ? ` (${catalog.files.length} GuestTools file(s) found, none usable: see gtr iso)` : '';
  throw new GtrError(
    'GTR_CATALOG_EMPTY',
    `ISO folder ${catalog.isoDir} holds no usable GuestTools ISO${ignored}; expected GuestTools-<version>.iso or GuestTools_linux-<version>.iso under it (normally copied by the management node upgrade)`,
    { details: { isoDir: catalog.isoDir, files: catalog.files.length } },
  );
}

/** @throws GtrError GTR_CATALOG_UNUSABLE when isoDir itself is missing or unreadable. */
export async function scanCatalog(isoDir: string, opts: ScanOptions): Promise<Catalog> {
  const root = path.resolve(isoDir);
  const real = await checkIsoDir(root);
  const walker = new Walker({ allowPrerelease: opts.allowPrerelease, maxDepth: opts.maxDepth ?? 8 }, root);
  await walker.walk(root, 0, new Set([real]));
  const files = walker.files.sort((a, b) => byText(a.path, b.path));
  const problems = walker.problems.sort((a, b) => byText(a.path, b.path) || byText(a.problem, b.problem));
  return { isoDir: root, files, problems, targets: pickTargets(files) };
}

