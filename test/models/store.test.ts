import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import { lstat, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { isSttError } from '../../src/engine/errors';
import { defaultStoreRoot, ModelStore } from '../../src/models/store';
import { fakeWhisperFiles, writeFakeFiles, type FakeFile } from '../helpers/fakeHub';

let scratch: string;
let store: ModelStore;
let files: FakeFile[];
let source: string;

beforeEach(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'quantum-stt-store-'));
  store = new ModelStore(join(scratch, 'store'));
  files = fakeWhisperFiles();
  source = join(scratch, 'my-whisper');
  await writeFakeFiles(source, files);
});

afterEach(async () => {
  await rm(scratch, { recursive: true, force: true });
});

function bytesOf(paths: readonly string[]): number {
  return files
    .filter((file) => paths.includes(file.path))
    .reduce((total, file) => total + file.content.length, 0);
}

async function assertModelError(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (error) => {
    assert.ok(isSttError(error) && error.kind === 'model', String(error));
    assert.match(error.message, pattern);
    return true;
  });
}

test('an empty or missing store lists nothing', async () => {
  assert.deepEqual(await store.list(), []);
});

test('import copies only the model files and the store lists its dtypes and size', async () => {
  const installed = await store.importFolder(source);
  assert.equal(installed.id, 'my-whisper');
  assert.deepEqual(installed.dtypes, ['fp32', 'fp16', 'q8']);
  assert.equal(
    existsSync(join(installed.folder, 'model.safetensors')),
    false,
    'not a file of the ONNX model',
  );
  assert.equal(existsSync(join(installed.folder, 'README.md')), false);
  const copied = files
    .map((file) => file.path)
    .filter((path) => path !== 'model.safetensors' && path !== 'README.md');
  const manifestBytes = (await readFile(join(installed.folder, 'quantum-stt-model.json'))).length;
  const [listed] = await store.list();
  assert.equal(listed?.sizeBytes, bytesOf(copied) + manifestBytes);
  assert.deepEqual(listed?.source, { kind: 'import', from: source, linked: false });
  assert.equal(await store.resolve('my-whisper'), installed.folder);
});

test('import rejects a folder that is not Whisper, or not complete, with a clear message', async () => {
  await writeFile(join(source, 'config.json'), JSON.stringify({ model_type: 'bert' }));
  await assertModelError(
    store.importFolder(source),
    /not a Whisper model: its config.json says model_type "bert"/,
  );

  await writeFile(join(source, 'config.json'), JSON.stringify({ model_type: 'whisper' }));
  await rm(join(source, 'tokenizer.json'));
  await rm(join(source, 'preprocessor_config.json'));
  await assertModelError(store.importFolder(source), /lacks preprocessor_config\.json, tokenizer\.json/);

  await writeFakeFiles(source, files);
  await rm(join(source, 'onnx'), { recursive: true });
  await assertModelError(store.importFolder(source), /no ONNX encoder and decoder pair/);

  await assertModelError(store.importFolder(join(scratch, 'absent')), /is not a folder/);
  assert.deepEqual(await store.list(), [], 'nothing was installed by the failed imports');
});

test('import refuses a name already taken and names that leave the store', async () => {
  await store.importFolder(source, { name: 'taken' });
  await assert.rejects(store.importFolder(source, { name: 'taken' }), /already installed/);
  await assert.rejects(store.importFolder(source, { name: '../escape' }), /not a valid model name/);
});

test('a linked import points at the folder, and removing it leaves the folder alone', async () => {
  const linked = await store.importFolder(source, { name: 'linked', link: true });
  assert.ok((await lstat(linked.folder)).isSymbolicLink());
  assert.deepEqual(linked.source, { kind: 'import', from: source, linked: true });
  await store.remove('linked');
  assert.equal(existsSync(linked.folder), false);
  assert.ok(existsSync(join(source, 'onnx', 'encoder_model.onnx')), "the user's folder is untouched");
});

test('remove deletes the model and its unfinished downloads; an unknown id is an error', async () => {
  const installed = await store.importFolder(source);
  await writeFakeFiles(store.stagingFolder('my-whisper'), [
    { path: 'x.part', content: Buffer.from('x'), lfs: false },
  ]);
  await store.remove('my-whisper');
  assert.equal(existsSync(installed.folder), false);
  assert.equal(existsSync(store.stagingFolder('my-whisper')), false);
  assert.deepEqual(await store.list(), []);
  await assertModelError(store.remove('my-whisper'), /no model named my-whisper/);
});

test('resolve takes installed ids, catalog names and folders, and explains what is missing', async () => {
  assert.equal(await store.resolve(source), source);
  await assertModelError(
    store.resolve('base'),
    /whisper-base is not downloaded yet.*models download whisper-base/,
  );
  await assertModelError(store.resolve('no-such-model'), /no model "no-such-model"/);
  await store.importFolder(source, { name: 'whisper-base' });
  assert.equal(await store.resolve('base'), join(store.root, 'whisper-base'));
});

test('the CLI store is under $QUANTUM_STT_HOME, else ~/.cache/quantum-stt', () => {
  assert.equal(defaultStoreRoot({ QUANTUM_STT_HOME: '/data/stt' }), join('/data/stt', 'models'));
  assert.match(defaultStoreRoot({}), /\.cache[/\\]quantum-stt[/\\]models$/);
});
