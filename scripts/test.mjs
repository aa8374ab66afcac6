// Runs every *.test.ts / *.test.tsx below test/ with node's test runner. Node 20's `node --test DIR`
// silently runs nothing, so the files are listed here explicitly. Files run one at a time: the
// interop suites share vpcd's two virtual readers, and the machine has two cores.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (/\.test\.tsx?$/.test(name)) out.push(p);
  }
  return out;
}

const only = process.argv.slice(2);
const files = only.length > 0 ? only : walk('test');
if (files.length === 0) {
  console.error('no test files found below test/');
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=1', '--test-timeout=300000', ...files], {
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
