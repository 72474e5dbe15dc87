// The source layout's contract (ARCHITECTURE.md "Layout"): folders by subsystem with at most ten
// sources each, a reason at the top of any file over about 400 lines, unit tests at the mirrored
// path of the file they test, and every source path the docs and comments name exists.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const walk = (dir) => readdirSync(path.join(ROOT, dir), { withFileTypes: true })
  .flatMap((e) => (e.isDirectory() ? walk(`${dir}/${e.name}`) : [`${dir}/${e.name}`]));
const read = (rel) => readFileSync(path.join(ROOT, rel), 'utf8');
const sources = [...walk('service'), ...walk('protocol')].filter((f) => /\.(cpp|hpp)$/.test(f));

test('no folder of service/ or protocol/ holds more than ten sources', () => {
  const perFolder = new Map();
  for (const f of sources.filter((s) => s.endsWith('.cpp'))) {
    const dir = path.dirname(f);
    perFolder.set(dir, (perFolder.get(dir) ?? 0) + 1);
  }
  assert.ok(perFolder.size >= 12, `sub-folders found: ${[...perFolder.keys()]}`);
  for (const [dir, n] of perFolder) {
    assert.ok(n <= 10, `${dir} holds ${n} .cpp files`);
  }
  assert.equal(perFolder.get('service'), undefined, 'service/ itself holds no sources: each is in its subsystem');
  assert.equal(perFolder.get('protocol'), undefined, 'protocol/ itself holds no sources');
});

test('a source over 450 lines says at its top why it is one file', () => {
  let long = 0;
  for (const f of sources) {
    const text = read(f);
    const lines = text.split('\n').length;
    if (lines <= 450) {
      continue;
    }
    ++long;
    const head = text.split('\n').slice(0, 12).join('\n');
    assert.match(head, /One file because/, `${f} has ${lines} lines and no "One file because" at its top`);
  }
  assert.ok(long < 12, `${long} long files`);
});

test('unit tests mirror the tree: tests/unit/<path>/<name>_test.cpp tests <path>/<name>.cpp (or .hpp)', () => {
  const tests = walk('tests/unit').filter((f) => f.endsWith('_test.cpp'));
  assert.ok(tests.length >= 25, `${tests.length} unit test files`);
  for (const t of tests) {
    const source = t.replace(/^tests\/unit\//, '').replace(/_test\.cpp$/, '.cpp');
    const header = source.replace(/\.cpp$/, '.hpp'); // a header-only template
    assert.ok(existsSync(path.join(ROOT, source)) || existsSync(path.join(ROOT, header)), `${t}: no ${source} to test`);
  }
});

test('every service/ or protocol/ path the docs and comments name exists', () => {
  const documents = ['README.md', 'ARCHITECTURE.md', 'bench/README.md', 'tests/fuzz/README.md', 'deploy/menus/README.md',
    ...sources, ...walk('tests').filter((f) => /\.(cpp|hpp|mjs|cmake|txt)$/.test(f) && !f.includes('node_modules')),
    ...walk('k8s').filter((f) => f.endsWith('.yaml')), 'deploy/Dockerfile', 'CMakeLists.txt'];
  let named = 0;
  for (const doc of documents) {
    const text = read(doc);
    for (const m of text.matchAll(/(?<![\w/.-])((?:service|protocol)\/[\w/]+\.(?:cpp|hpp|yaml|json|in))\b/g)) {
      ++named;
      assert.ok(existsSync(path.join(ROOT, m[1])), `${doc} names ${m[1]}, which does not exist`);
    }
  }
  assert.ok(named > 100, `${named} paths named`);
});
