// `gtr iso`: every GuestTools ISO found, its parsed version, and the chosen targets.
import { requireTargets, scanCatalog } from '../../catalog/scan.js';
import { parseFlags, tableOptions } from '../args.js';
import type { MakeContext } from '../context.js';
import { printable } from '../../text/printable.js';
import { formatTable } from '../../text/table.js';
import { exitLines } from '../exit-lines.js';

const ISO_HELP = `Usage: gtr iso [--config FILE] [--json]

Scan isoDir for GuestTools ISOs (GuestTools-<v>.iso for Windows, GuestTools_linux-<v>.iso for Linux),
show every file with its parsed version and architecture, and the target per agent type and
architecture: the highest version, never the newest file.
${exitLines(['ok', ['usage', 'usage or config error'],
  ['unreachable', 'the ISO folder is missing or unreadable, or holds no usable GuestTools ISO (GTR_CATALOG_EMPTY; the listing is printed first)']])}`;

export async function runIso(argv: string[], makeContext: MakeContext): Promise<number> {
  const { values } = parseFlags(argv, { json: { type: 'boolean' } });
  if (values.help) {
    process.stdout.write(ISO_HELP);
    return 0;
  }
  const table = tableOptions(values);
  const ctx = makeContext(values);
  try {
    const catalog = await scanCatalog(ctx.config.isoDir, { allowPrerelease: ctx.config.policy.allowPrerelease });
    if (values.json) {
      process.stdout.write(`${JSON.stringify(catalog, null, 2)}\n`);
      requireTargets(catalog);
      return 0;
    }
    const out: string[] = [`ISO folder: ${catalog.isoDir}`, ''];
    if (catalog.files.length === 0) out.push('No GuestTools ISO files found.');
    else {
      out.push(
        formatTable(
          ['file', 'agent type', 'arch', 'version', 'status'],
          catalog.files.map((f) => [f.path, f.agentType, f.architecture ?? '-', f.version ?? '-', f.status]),
          { ...table, full: ['file'] },
        ),
      );
    }
    out.push('');
    if (catalog.targets.length === 0) out.push('Targets: none');
    else {
      out.push('Targets:');
      out.push(formatTable(['agent type', 'arch', 'version', 'iso'], catalog.targets.map((t) => [t.agentType, t.architecture, t.version, t.iso]), { ...table, full: ['iso'] }));
    }
    if (catalog.problems.length > 0) {
      out.push('', 'Problems (ignored):');
      for (const p of catalog.problems) out.push(`  ${p.path}: ${p.problem}`);
    }
    process.stdout.write(`${printable(out.join('\n'), { keepNewlines: true })}\n`);
    requireTargets(catalog);
    return 0;
  } finally {
    await ctx.close();
  }
}
