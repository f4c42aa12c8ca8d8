// The import rule of src/ (docs/architecture.md, "Layers"): a file imports only files of its own folder
// and of the layers below its own, and no import cycle exists, counting type-only imports too. The
// layer table is read from docs/architecture.md, so the document and the rule cannot drift apart; a
// folder of src/ that the table does not place fails the check. Run by `npm run lint`.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(ROOT, 'src');
const DOC = join(ROOT, 'docs', 'architecture.md');
/** The files directly in src/ (errors, log, domain types) form the folder named BASE. */
const BASE = '*.ts';

/** Folder -> layer number (1 = top), from the rows `| N | \`folder/\` ... |` of the doc's layer table. */
export function readLayers(markdown: string): Map<string, number> {
  const layers = new Map<string, number>();
  for (const row of markdown.matchAll(/^\| *(\d+) *\|([^|\n]*)\|/gm)) {
    for (const span of row[2].matchAll(/`([^`]+)`/g)) {
      const name = span[1] === BASE ? BASE : span[1].replace(/\/$/, '');
      if (layers.has(name)) throw new Error(`docs/architecture.md places ${name} twice`);
      layers.set(name, Number(row[1]));
    }
  }
  return layers;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** src-relative path -> src-relative paths it imports (relative specifiers only: packages are not layers). */
export function importGraph(src: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(src)) {
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    const targets = info.importedFiles
      .map((f) => f.fileName)
      .filter((spec) => spec.startsWith('.'))
      .map((spec) => relative(src, resolve(dirname(file), spec)).replace(/\.js$/, '.ts').split(sep).join('/'));
    graph.set(relative(src, file).split(sep).join('/'), [...new Set(targets)]);
  }
  return graph;
}

export function folderOf(path: string): string {
  const slash = path.indexOf('/');
  return slash === -1 ? BASE : path.slice(0, slash);
}

/** Import cycles (strongly connected components of more than one file, or a file importing itself). */
export function cycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return found;
}

/** Every breach of the rule, as lines to print; empty when the tree keeps it. */
export function problems(graph: Map<string, string[]>, layers: Map<string, number>): string[] {
  const out: string[] = [];
  const folders = new Set([...graph.keys()].map(folderOf));
  for (const folder of [...folders].sort()) {
    if (!layers.has(folder)) out.push(`src/${folder === BASE ? BASE : `${folder}/`} has no layer in docs/architecture.md: add it to the layer table`);
  }
  for (const [file, targets] of [...graph].sort(([a], [b]) => a.localeCompare(b))) {
    const from = folderOf(file);
    for (const target of targets) {
      const to = folderOf(target);
      if (from === to || !layers.has(from) || !layers.has(to)) continue;
      if (layers.get(to)! <= layers.get(from)!) {
        const how = layers.get(to) === layers.get(from) ? 'a folder of the same layer' : 'a higher layer';
        out.push(`src/${file} imports src/${target}: ${how} (${to} is layer ${layers.get(to)}, ${from} is layer ${layers.get(from)})`);
      }
    }
  }
  for (const cycle of cycles(graph)) out.push(`import cycle: ${cycle.map((f) => `src/${f}`).join(' <-> ')}`);
  return out;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const layers = readLayers(readFileSync(DOC, 'utf8'));
  const graph = importGraph(SRC);
  const found = problems(graph, layers);
  if (found.length > 0) {
    console.error(`check-layers: ${found.length} breach(es) of the import rule (docs/architecture.md, "Layers"):`);
    for (const line of found) console.error(`  ${line}`);
    process.exit(1);
  }
  const edges = [...graph.values()].reduce((n, t) => n + t.length, 0);
  console.log(`check-layers: ${graph.size} files, ${edges} imports, ${layers.size} folders in ${new Set(layers.values()).size} layers: every import points down, no cycle`);
}
