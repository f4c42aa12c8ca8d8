// The import rule of src/ (docs/architecture.md, scripts/check-layers.ts, run by npm run lint): the
// checker catches what it must, and the tree keeps the rule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cycles, importGraph, problems, readLayers } from '../scripts/check-layers.js';
import { ROOT } from './helpers/cli.js';

const layers = readLayers(readFileSync(join(ROOT, 'docs', 'architecture.md'), 'utf8'));

test('layers: the table of docs/architecture.md places cli on top and the base files at the bottom', () => {
  assert.equal(layers.get('cli'), 1);
  assert.ok(layers.get('reconcile')! < layers.get('plan')!, 'the pass is above the planner');
  assert.equal(layers.get('*.ts'), Math.max(...layers.values()));
});

test('layers: an upward import, an import between siblings, an unplaced folder and a cycle are breaches', () => {
  const graph = new Map<string, string[]>([
    ['plan/plan.ts', ['reconcile/run.ts', 'errors.ts']],
    ['reconcile/run.ts', ['plan/plan.ts']],
    ['rollout/gate.ts', ['ha/role.ts']],
    ['ha/role.ts', []],
    ['errors.ts', []],
    ['elsewhere/x.ts', []],
  ]);
  const found = problems(graph, layers);
  assert.ok(found.some((l) => l.startsWith('src/plan/plan.ts imports src/reconcile/run.ts: a higher layer')), found.join('\n'));
  assert.ok(found.some((l) => l.startsWith('src/rollout/gate.ts imports src/ha/role.ts: a folder of the same layer')), found.join('\n'));
  assert.ok(found.some((l) => l.startsWith('src/elsewhere/ has no layer')), found.join('\n'));
  assert.ok(found.includes('import cycle: src/plan/plan.ts <-> src/reconcile/run.ts'), found.join('\n'));
  assert.ok(!found.some((l) => l.includes('imports src/errors.ts')), 'the base files are below everything');
  assert.deepEqual(cycles(new Map([['a.ts', ['a.ts']]])), [['a.ts']], 'a file importing itself is a cycle');
});

test('layers: src/ keeps the rule (every import points down, no cycle)', () => {
  const graph = importGraph(join(ROOT, 'src'));
  assert.ok(graph.size > 100, `read ${graph.size} files`);
  assert.deepEqual(problems(graph, layers), []);
});
