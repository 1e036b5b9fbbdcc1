import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { isSttError } from '../../src/engine/errors';
import {
  downloadModel,
  downloadTargetFor,
  type DownloadOptions,
  type DownloadProgress,
} from '../../src/models/download';
import { ModelStore } from '../../src/models/store';
import { closedPort, fakeWhisperFiles, startFakeHub, type FakeFile, type FakeHub } from '../helpers/fakeHub';

const repo = 'test-org/whisper-fake';
const target = { id: 'whisper-fake', repo };
const fp32Files = [
  'config.json',
  'generation_config.json',
  'preprocessor_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'vocab.json',
  'added_tokens.json',
  'onnx/encoder_model.onnx',
  'onnx/decoder_model_merged.onnx',
  'onnx/decoder_with_past_model.onnx',
];

let files: FakeFile[];
let hub: FakeHub;
let root: string;
let store: ModelStore;

beforeEach(async () => {
  files = fakeWhisperFiles();
  hub = await startFakeHub({
    repos: { [repo]: files, 'test-org/private-whisper': files },
    tokens: { 'test-org/private-whisper': 'secret' },
  });
  root = await mkdtemp(join(tmpdir(), 'quantum-stt-models-'));
  store = new ModelStore(root);
});

afterEach(async () => {
  await hub.close();
  await rm(root, { recursive: true, force: true });
});

function options(overrides: Partial<DownloadOptions> = {}): DownloadOptions {
  return { dtype: 'fp32', hub: { endpoint: hub.endpoint }, retryDelayMs: 10, ...overrides };
}

function content(path: string): Buffer {
  const file = files.find((candidate) => candidate.path === path);
  if (!file) throw new Error(`no fake file ${path}`);
  return file.content;
}

async function assertNothingInstalled(): Promise<void> {
  assert.deepEqual(await store.list(), []);
  assert.equal(existsSync(join(root, target.id)), false);
  const leftovers = existsSync(join(root, '.staging')) ? await readdir(join(root, '.staging')) : [];
  assert.deepEqual(
    leftovers.filter((name) => name !== target.id),
    [],
    'no assembly folder may be left behind',
  );
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof Error);
    return error;
  }
  assert.fail('expected the download to fail');
}

test(
  'a clean download installs the verified files and the store lists them with their size',
  { timeout: 20_000 },
  async () => {
    const reports: DownloadProgress[] = [];
    const installed = await downloadModel(
      store,
      target,
      options({ onProgress: (report) => reports.push(report) }),
    );

    assert.equal(installed.folder, join(root, target.id));
    assert.deepEqual(installed.dtypes, ['fp32']);
    for (const path of fp32Files)
      assert.deepEqual(await readFile(join(installed.folder, path)), content(path), path);
    for (const absent of ['README.md', 'model.safetensors', 'onnx/encoder_model_quantized.onnx']) {
      assert.equal(existsSync(join(installed.folder, absent)), false, absent);
    }

    const [listed] = await store.list();
    const manifestBytes = (await stat(join(installed.folder, 'quantum-stt-model.json'))).size;
    const modelBytes = fp32Files.reduce((total, path) => total + content(path).length, 0);
    assert.equal(listed?.id, target.id);
    assert.equal(listed?.sizeBytes, modelBytes + manifestBytes);
    assert.deepEqual(listed?.source, { kind: 'hub', endpoint: hub.endpoint, repo, revision: 'main' });

    const last = reports.at(-1);
    assert.equal(last?.totalBytes, modelBytes);
    assert.equal(last?.doneBytes, modelBytes);
    assert.ok(
      reports.every(
        (report, index) => index === 0 || report.doneBytes >= (reports[index - 1]?.doneBytes ?? 0),
      ),
    );
    assert.ok(
      hub.requests.some((request) => request.path.includes('/tree/')) &&
        hub.requests.filter((request) => request.path.includes('/tree/')).length > 1,
      'the paginated listing was followed',
    );
    assert.equal(existsSync(join(root, '.staging', target.id)), false, 'the staging folder is cleaned up');
  },
);

test('a second dtype joins the installed model, with external data files', { timeout: 20_000 }, async () => {
  await downloadModel(store, target, options());
  const installed = await downloadModel(store, target, options({ dtype: 'fp16' }));
  assert.deepEqual(installed.dtypes, ['fp32', 'fp16']);
  for (const path of [
    'onnx/encoder_model.onnx',
    'onnx/encoder_model_fp16.onnx',
    'onnx/encoder_model_fp16.onnx_data',
  ]) {
    assert.deepEqual(await readFile(join(installed.folder, path)), content(path), path);
  }
  const requestsBefore = hub.requests.length;
  await downloadModel(store, target, options({ dtype: 'fp16' }));
  assert.equal(hub.requests.length, requestsBefore, 'an installed dtype is not fetched again');
});

test(
  'withPastDecoder false leaves decoder_with_past_model out; asked for later, only that file is fetched',
  { timeout: 20_000 },
  async () => {
    const withPast = 'onnx/decoder_with_past_model.onnx';
    const first = await downloadModel(store, target, options({ withPastDecoder: false }));
    assert.equal(existsSync(join(first.folder, withPast)), false);
    assert.deepEqual(first.dtypes, ['fp32']);

    const requestsBefore = hub.requests.length;
    const second = await downloadModel(store, target, options());
    const fetched = hub.requests
      .slice(requestsBefore)
      .map((request) => request.path)
      .filter((path) => path.includes('/resolve/'));
    assert.deepEqual(await readFile(join(second.folder, withPast)), content(withPast));
    assert.ok(
      fetched.some((path) => path.endsWith(withPast)),
      `the with-past decoder was fetched: ${JSON.stringify(fetched)}`,
    );
    for (const kept of ['onnx/encoder_model.onnx', 'onnx/decoder_model_merged.onnx']) {
      assert.ok(!fetched.some((path) => path.endsWith(kept)), `${kept} was fetched again`);
      assert.deepEqual(await readFile(join(second.folder, kept)), content(kept), kept);
    }

    const requestsAfter = hub.requests.length;
    await downloadModel(store, target, options());
    assert.equal(hub.requests.length, requestsAfter, 'a complete install asks the hub nothing');
  },
);

test('a file the manifest lists but the folder lacks is fetched again', { timeout: 20_000 }, async () => {
  const externalData = 'onnx/encoder_model_fp16.onnx_data';
  const first = await downloadModel(store, target, options({ dtype: 'fp16', withPastDecoder: false }));
  await rm(join(first.folder, externalData));
  // Still an fp16 model by its graphs; asking for the with-past decoder (the repository has none in fp16) goes
  // to the hub, and the missing weights come back with it.
  const second = await downloadModel(store, target, options({ dtype: 'fp16' }));
  assert.deepEqual(second.dtypes, ['fp16']);
  assert.deepEqual(await readFile(join(second.folder, externalData)), content(externalData));
});

test(
  'a connection dropped midway resumes with a Range request and completes',
  { timeout: 20_000 },
  async () => {
    const path = 'onnx/decoder_model_merged.onnx';
    hub.dropOnce.set(path, 100_000);
    const installed = await downloadModel(store, target, options());
    assert.deepEqual(await readFile(join(installed.folder, path)), content(path));
    const ranges = hub.requests
      .filter((request) => request.path.endsWith(path))
      .map((request) => request.range);
    assert.equal(ranges.length, 2);
    assert.equal(ranges[0], undefined);
    assert.match(ranges[1] ?? '', /^bytes=[1-9]\d*-$/);
  },
);

test(
  'a transfer that goes silent is dropped after the stall timeout and resumed',
  { timeout: 20_000 },
  async () => {
    const path = 'onnx/encoder_model.onnx';
    hub.stallOnce.set(path, { afterBytes: 30_000, onStall: () => undefined });
    const installed = await downloadModel(store, target, options({ stallTimeoutMs: 1000 }));
    assert.deepEqual(await readFile(join(installed.folder, path)), content(path));
    const ranges = hub.requests
      .filter((request) => request.path.endsWith(path))
      .map((request) => request.range);
    assert.deepEqual(ranges, [undefined, 'bytes=30000-']);
  },
);

test('a corrupt file is rejected by name and nothing is installed', { timeout: 20_000 }, async () => {
  hub.corrupt.add('onnx/encoder_model.onnx');
  const error = await rejection(downloadModel(store, target, options()));
  assert.ok(isSttError(error) && error.kind === 'network', String(error));
  assert.match(error.message, /onnx\/encoder_model\.onnx/);
  assert.match(error.message, /sha256/);
  await assertNothingInstalled();
  assert.equal(existsSync(join(store.stagingFolder(target.id), 'onnx/encoder_model.onnx.part')), false);
});

test('a corrupt small file fails its git blob id check', { timeout: 20_000 }, async () => {
  hub.corrupt.add('tokenizer.json');
  const error = await rejection(downloadModel(store, target, options()));
  assert.match(error.message, /tokenizer\.json.*git blob id/);
  await assertNothingInstalled();
});

test('an unknown repository and a missing file are named in a 404 message', { timeout: 20_000 }, async () => {
  const noRepo = await rejection(downloadModel(store, { id: 'nope', repo: 'test-org/nope' }, options()));
  assert.ok(isSttError(noRepo) && noRepo.kind === 'network');
  assert.match(noRepo.message, /test-org\/nope was not found/);

  hub.missing.add('tokenizer_config.json');
  const noFile = await rejection(downloadModel(store, target, options()));
  assert.match(noFile.message, /tokenizer_config\.json of test-org\/whisper-fake was not found/);
  await assertNothingInstalled();
});

test('a 401 asks for a token, and the token is sent as a bearer token', { timeout: 20_000 }, async () => {
  const privateTarget = { id: 'private-whisper', repo: 'test-org/private-whisper' };
  const refused = await rejection(downloadModel(store, privateTarget, options()));
  assert.ok(isSttError(refused) && refused.kind === 'network');
  assert.match(refused.message, /HTTP 401.*access token is needed/);

  const wrongToken = await rejection(
    downloadModel(store, privateTarget, options({ hub: { endpoint: hub.endpoint, token: 'wrong' } })),
  );
  assert.match(wrongToken.message, /token given was not accepted/);

  const installed = await downloadModel(
    store,
    privateTarget,
    options({ hub: { endpoint: hub.endpoint, token: 'secret' } }),
  );
  assert.deepEqual(installed.dtypes, ['fp32']);
  assert.ok(hub.requests.some((request) => request.authorization === 'Bearer secret'));
});

test(
  'no network at all gives a clear message and leaves nothing half-installed',
  { timeout: 20_000 },
  async () => {
    const endpoint = `http://127.0.0.1:${await closedPort()}`;
    const error = await rejection(
      // A retry would outlast the test's timeout: an unreachable hub must be reported at once.
      downloadModel(store, target, options({ hub: { endpoint }, retryDelayMs: 60_000 })),
    );
    assert.ok(isSttError(error) && error.kind === 'network');
    assert.equal(
      error.message,
      `could not reach ${endpoint} (ECONNREFUSED); check your connection or the hub endpoint setting`,
    );
    await assertNothingInstalled();
  },
);

test(
  'cancelling keeps the .part, installs nothing, and a later download resumes it',
  { timeout: 20_000 },
  async () => {
    const path = 'onnx/decoder_model_merged.onnx';
    const part = join(store.stagingFolder(target.id), `${path}.part`);
    const cancel = new AbortController();
    hub.stallOnce.set(path, {
      afterBytes: 50_000,
      onStall: () => {
        // Cancel once the bytes sent have reached the .part file, so the resume point is known.
        const poll = setInterval(() => {
          void stat(part)
            .then((info) => {
              if (info.size === 50_000) {
                clearInterval(poll);
                cancel.abort();
              }
            })
            .catch(() => undefined);
        }, 5);
      },
    });
    const error = await rejection(downloadModel(store, target, options({ signal: cancel.signal })));
    assert.ok(isSttError(error) && error.kind === 'cancelled', String(error));
    await assertNothingInstalled();
    assert.equal((await stat(part)).size, 50_000);

    const installed = await downloadModel(store, target, options());
    assert.deepEqual(await readFile(join(installed.folder, path)), content(path));
    const last = hub.requests.filter((request) => request.path.endsWith(path)).at(-1);
    assert.equal(last?.range, 'bytes=50000-');
  },
);

test(
  'a download resumed across restarts re-verifies the bytes already on disk',
  { timeout: 20_000 },
  async () => {
    // A .part left by an earlier process, with wrong bytes in it: the resumed file cannot match its sha256.
    const path = 'onnx/encoder_model.onnx';
    const { mkdir, writeFile } = await import('node:fs/promises');
    const part = join(store.stagingFolder(target.id), `${path}.part`);
    await mkdir(join(store.stagingFolder(target.id), 'onnx'), { recursive: true });
    await writeFile(part, Buffer.alloc(10_000, 7));
    const installed = await downloadModel(store, target, options());
    assert.deepEqual(await readFile(join(installed.folder, path)), content(path));
    const ranges = hub.requests
      .filter((request) => request.path.endsWith(path))
      .map((request) => request.range);
    assert.deepEqual(
      ranges,
      ['bytes=10000-', undefined],
      'resumed, failed verification, then fetched from scratch',
    );
  },
);

test('a dtype the repository does not publish is refused before any file is fetched', async () => {
  const error = await rejection(downloadModel(store, target, options({ dtype: 'q4' })));
  assert.ok(isSttError(error) && error.kind === 'model');
  assert.match(error.message, /no q4 build .*it has fp32, fp16, q8/);
  assert.ok(hub.requests.every((request) => request.path.includes('/tree/')));
});

test('a download already running for the model is refused; a lock left by a dead process is taken over', async () => {
  const { mkdir, writeFile } = await import('node:fs/promises');
  const lock = `${store.stagingFolder(target.id)}.lock`;
  await mkdir(join(root, '.staging'), { recursive: true });
  await writeFile(lock, String(process.pid));
  const error = await rejection(downloadModel(store, target, options()));
  assert.match(
    error.message,
    new RegExp(`whisper-fake is already being downloaded \\(process ${process.pid}\\)`),
  );
  assert.equal(hub.requests.length, 0);

  // Far above any pid a Linux, macOS or Windows system hands out.
  await writeFile(lock, String(2 ** 31 - 2));
  const installed = await downloadModel(store, target, options());
  assert.deepEqual(installed.dtypes, ['fp32']);
  assert.equal(existsSync(lock), false, 'the lock is released');
});

test('download targets come from the catalog or from owner/name', () => {
  assert.deepEqual(downloadTargetFor('base'), { id: 'whisper-base', repo: 'onnx-community/whisper-base' });
  assert.deepEqual(downloadTargetFor('someone/my-whisper'), { id: 'my-whisper', repo: 'someone/my-whisper' });
  assert.throws(() => downloadTargetFor('nonsense'), /unknown model "nonsense"/);
});
