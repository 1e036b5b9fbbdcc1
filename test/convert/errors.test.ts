import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { convertCheckpoint, makeRandomModel } from '../../src/convert/convert';
import { SttError } from '../../src/engine/errors';
import { exitCodes } from '../../src/cli/errors';
import { tinyRandomCheckpoint } from '../helpers/models';
import {
  checkpointCopy,
  checkpointFolderWithoutWeights,
  readFixtureTensors,
  type RawTensor,
} from './checkpointCopies';

const root = join(__dirname, '..', '..');
const temps: string[] = [];

function freshOut(label: string): string {
  const dir = join(tmpdir(), `quantum-stt-bad-${label}-${process.pid}`);
  temps.push(dir);
  return dir;
}

/** Converting must fail with a convert SttError whose message matches, leaving nothing behind. */
async function expectFailure(checkpointDir: string, label: string, ...patterns: RegExp[]): Promise<void> {
  const outDir = freshOut(label);
  await assert.rejects(convertCheckpoint({ checkpointDir, outDir }), (error: unknown) => {
    assert.ok(error instanceof SttError, String(error));
    assert.equal(error.kind, 'convert');
    for (const pattern of patterns) assert.match(error.message, pattern);
    return true;
  });
  assert.equal(existsSync(outDir), false, 'no output folder');
  const leftovers = readdirSync(dirname(outDir)).filter((name) =>
    name.includes(`quantum-stt-bad-${label}-${process.pid}`),
  );
  assert.deepEqual(leftovers, [], 'no partial folder');
}

describe('bad input is refused with the file and tensor named, and no output', () => {
  let tensors: RawTensor[];
  const copy = (label: string, altered: RawTensor[]) => {
    const dir = checkpointCopy(label, altered);
    temps.push(dir);
    return dir;
  };
  /** The fixture's weights beside its config.json with `changes` applied. */
  const withConfig = (label: string, changes: Record<string, unknown>) => {
    const dir = checkpointFolderWithoutWeights(label);
    temps.push(dir);
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, ...changes }));
    copyFileSync(join(tinyRandomCheckpoint, 'model.safetensors'), join(dir, 'model.safetensors'));
    return dir;
  };

  before(() => {
    tensors = readFixtureTensors();
  });
  after(() => {
    for (const dir of temps) rmSync(dir, { recursive: true, force: true });
  });

  test('not a Whisper folder', async () => {
    await expectFailure(join(root, 'test', 'fixtures', 'audio'), 'audio', /audio[/\\]config\.json/);
    const dir = checkpointFolderWithoutWeights('bert');
    temps.push(dir);
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ model_type: 'bert', d_model: 64 }));
    await expectFailure(dir, 'bert', /config\.json/, /not a Whisper config/);
  });

  test('no weights file', async () => {
    const dir = checkpointFolderWithoutWeights('noweights');
    temps.push(dir);
    await expectFailure(dir, 'noweights', /no model\.safetensors/);
  });

  test('truncated safetensors', async () => {
    const dir = checkpointFolderWithoutWeights('truncated');
    temps.push(dir);
    const file = join(dir, 'model.safetensors');
    copyFileSync(join(tinyRandomCheckpoint, 'model.safetensors'), file);
    truncateSync(file, 10_000_000);
    await expectFailure(
      dir,
      'truncated',
      /model\.safetensors/,
      /tensor model\.\w+\.[\w.]+/,
      /outside|truncated/,
    );
  });

  test('corrupt header', async () => {
    const dir = checkpointFolderWithoutWeights('corrupt');
    temps.push(dir);
    const bytes = readFileSync(join(tinyRandomCheckpoint, 'model.safetensors'));
    bytes.write('#', 9); // inside the JSON header
    writeFileSync(join(dir, 'model.safetensors'), bytes);
    await expectFailure(dir, 'corrupt', /model\.safetensors/, /not valid JSON/);
  });

  test('missing tensor', async () => {
    const dir = copy(
      'missing',
      tensors.filter((t) => t.name !== 'model.decoder.layers.1.fc2.bias'),
    );
    await expectFailure(dir, 'missing', /model\.decoder\.layers\.1\.fc2\.bias/, /missing/);
  });

  test('shape disagreeing with config.json', async () => {
    const dir = withConfig('shape', { encoder_ffn_dim: 128 });
    await expectFailure(
      dir,
      'shape',
      /model\.safetensors/,
      /model\.encoder\.layers\.0\.fc1\.weight/,
      /\[256, 64\].*\[128, 64\]/,
    );
  });

  test('no usable decoder_start_token_id in config.json', async () => {
    const dir = withConfig('sot', { decoder_start_token_id: 99_999 });
    await expectFailure(dir, 'sot', /config\.json/, /decoder_start_token_id/, /99999/);
  });

  test('unsupported dtype (I8)', async () => {
    const altered = tensors.map((t) =>
      t.name === 'model.encoder.conv1.bias'
        ? { ...t, dtype: 'I8', data: new Uint8Array(t.data.length / 4) }
        : t,
    );
    await expectFailure(copy('i8', altered), 'i8', /model\.safetensors/, /model\.encoder\.conv1\.bias/, /I8/);
  });

  test('a failure after the graphs are written removes the partial folder', async () => {
    const tokenizerDir = mkdtempSync(join(tmpdir(), 'quantum-stt-tokenizer-'));
    temps.push(tokenizerDir);
    const source = join(root, 'test', 'fixtures', 'whisper-configs', 'whisper-tiny');
    for (const name of readdirSync(source)) copyFileSync(join(source, name), join(tokenizerDir, name));
    // Read only when the companion files are written, after both graphs.
    writeFileSync(join(tokenizerDir, 'generation_config.json'), '{ not json');
    const outDir = freshOut('late');
    await assert.rejects(
      makeRandomModel({ size: 'tiny', tokenizerDir, outDir }),
      /generation_config\.json: not valid JSON/,
    );
    assert.equal(existsSync(outDir), false);
    assert.deepEqual(
      readdirSync(dirname(outDir)).filter((name) => name.includes(basename(outDir))),
      [],
      'no partial folder',
    );
  });

  test('CLI: exit code for convert failures, usage errors, and an existing output folder', () => {
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'convert', ...args], {
        cwd: root,
        encoding: 'utf8',
      });
    const out = freshOut('cli');
    const bad = cli(join(root, 'test', 'fixtures', 'audio'), out);
    assert.equal(bad.status, exitCodes.convert, bad.stderr);
    assert.match(bad.stderr, /^quantum-stt: .*config\.json/m);
    assert.equal(existsSync(out), false);
    assert.equal(cli(tinyRandomCheckpoint).status, exitCodes.usage);
    const occupied = cli(tinyRandomCheckpoint, join(root, 'test'));
    assert.equal(occupied.status, exitCodes.convert);
    assert.match(occupied.stderr, /not empty/);
  });
});
