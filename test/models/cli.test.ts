import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fakeWhisperFiles, startFakeHub, type FakeHub } from '../helpers/fakeHub';

const root = join(__dirname, '..', '..');
let hub: FakeHub;
let home: string;

before(async () => {
  hub = await startFakeHub({ repos: { 'test-org/whisper-fake': fakeWhisperFiles() } });
  home = await mkdtemp(join(tmpdir(), 'quantum-stt-cli-'));
});

after(async () => {
  await hub.close();
  await rm(home, { recursive: true, force: true });
});

/** Runs the CLI without blocking this process, which serves the fake hub it talks to. */
function cli(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'models', ...args], {
      cwd: root,
      env: { ...process.env, QUANTUM_STT_HOME: home, HF_TOKEN: '', HF_ENDPOINT: '' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (status) => done({ status, stdout, stderr }));
  });
}

test('models download, list, path and remove work end to end', { timeout: 60_000 }, async () => {
  const download = await cli(
    'download',
    'test-org/whisper-fake',
    '--dtype',
    'q8',
    '--endpoint',
    hub.endpoint,
  );
  assert.equal(download.status, 0, download.stderr);
  assert.match(download.stdout, /Installed whisper-fake \(q8; \d+(\.\d+)? kB\)/);
  assert.match(download.stderr, /100%/);

  const list = await cli('list');
  assert.equal(list.status, 0, list.stderr);
  assert.match(list.stdout, /^whisper-fake\s+q8\s+\d+(\.\d+)? kB\s+test-org\/whisper-fake/m);

  const path = await cli('path', 'whisper-fake');
  assert.equal(path.stdout.trim(), join(home, 'models', 'whisper-fake'));

  const remove = await cli('remove', 'whisper-fake');
  assert.equal(remove.status, 0, remove.stderr);
  assert.match((await cli('list')).stdout, /No models installed/);
});

test(
  'models download --no-with-past-decoder leaves that file out; a plain download adds it',
  { timeout: 60_000 },
  async () => {
    const withPast = join(home, 'models', 'whisper-fake', 'onnx', 'decoder_with_past_model.onnx');
    const args = ['download', 'test-org/whisper-fake', '--endpoint', hub.endpoint];
    const without = await cli(...args, '--no-with-past-decoder');
    assert.equal(without.status, 0, without.stderr);
    assert.equal(existsSync(withPast), false);
    const plain = await cli(...args);
    assert.equal(plain.status, 0, plain.stderr);
    assert.equal(existsSync(withPast), true);
    assert.equal((await cli('remove', 'whisper-fake')).status, 0);
  },
);

test(
  'download failures reach the exit code: 404 is a network error (6), an unknown name a usage error (2)',
  { timeout: 60_000 },
  async () => {
    const missing = await cli('download', 'test-org/nothing-here', '--endpoint', hub.endpoint);
    assert.equal(missing.status, 6);
    assert.match(missing.stderr, /quantum-stt: model repository test-org\/nothing-here was not found/);

    const unknown = await cli('download', 'whisper-gigantic');
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /unknown model "whisper-gigantic"/);

    const badDtype = await cli('download', 'base', '--dtype', 'int3');
    assert.equal(badDtype.status, 2);
  },
);

test(
  'models catalog shows estimated sizes, translation and the suggested defaults',
  { timeout: 60_000 },
  async () => {
    const { status, stdout } = await cli('catalog');
    assert.equal(status, 0);
    assert.match(stdout, /^whisper-large-v3-turbo\s+809M\s+multilingual\s+no\s+~3\.9 GB\s+~1\.9 GB/m);
    assert.match(stdout, /^whisper-base\s+73M\s+multilingual\s+yes\s+~486 MB/m);
    assert.match(stdout, /estimates from parameter counts, decoder_with_past_model included/);
    assert.match(stdout, /whisper-base fp32 on a CPU, whisper-large-v3-turbo fp16 with a GPU/);
  },
);
