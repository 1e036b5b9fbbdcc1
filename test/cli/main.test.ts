import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { version } from '../../package.json';

const root = join(__dirname, '..', '..');

function cli(...args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    cwd: root,
    encoding: 'utf8',
  });
}

test('--help lists the subcommands and exits 0', () => {
  const run = cli('--help');
  assert.equal(run.status, 0, run.stderr);
  for (const subcommand of ['transcribe', 'convert', 'models']) {
    assert.match(run.stdout, new RegExp(`^\\s+${subcommand}\\b`, 'm'));
  }
});

test('--version prints the package version', () => {
  const run = cli('--version');
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stdout.trim(), version);
});

test('an unknown flag is a usage error with exit code 2', () => {
  const run = cli('--no-such-flag');
  assert.equal(run.status, 2);
  assert.match(run.stderr, /unknown option/);
});
