import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { segmentLine } from '../../src/transcript/formats';
import { parseTranscript } from '../../src/transcript/result';
import { tinyRandomModel } from '../helpers/models';

const root = join(__dirname, '..', '..');
const jfk = join(root, 'test', 'fixtures', 'audio', 'jfk.wav');
const outDir = mkdtempSync(join(tmpdir(), 'cli-transcribe-'));
let modelDir: string;

before(async () => {
  modelDir = await tinyRandomModel();
});
after(() => rmSync(outDir, { recursive: true, force: true }));

function cli(...args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'transcribe', ...args], {
    cwd: root,
    encoding: 'utf8',
  });
}

test('--format json writes the Transcript JSON; segments go to stdout, progress to stderr as lines', () => {
  const run = cli(
    jfk,
    '--model',
    modelDir,
    '--language',
    'en',
    '--temperature',
    '0',
    '--format',
    'json',
    '--out-dir',
    outDir,
    '--provider',
    'cpu',
  );
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stderr, /jfk\.wav: 100% \(11\.0\/11\.0 s\)\n/);
  assert.doesNotMatch(run.stderr, /\r/);
  const transcript = parseTranscript(
    JSON.parse(readFileSync(join(outDir, 'jfk.wav.transcript.json'), 'utf8')),
  );
  // The reference case jfk_en_t0 (OpenAI transcribe(), same weights): its first window's segments.
  const reference = JSON.parse(
    readFileSync(join(root, 'test/fixtures/reference/tiny-random/transcribe/jfk_en_t0.json'), 'utf8'),
  ) as { result: { segments: { tokens: number[] }[] } };
  assert.deepEqual(
    transcript.segments.map((segment) => segment.tokens),
    reference.result.segments.map((segment) => segment.tokens),
  );
  assert.equal(transcript.language, 'en');
  assert.equal(run.stdout, transcript.segments.map((segment) => `${segmentLine(segment)}\n`).join(''));
});

test('decoding flags reach the engine: beam search reproduces OpenAI, fallback thresholds, range checks', () => {
  const libri = join(root, 'test', 'fixtures', 'audio', 'wenet_librispeech-1995-1837-0001.wav');
  const common = [
    '--model',
    modelDir,
    '--language',
    'en',
    '--out-dir',
    outDir,
    '--provider',
    'cpu',
    '--overwrite',
  ];
  const beam = cli(libri, ...common, '--temperature', '0', '--beams', '5', '--no-condition-on-previous-text');
  assert.equal(beam.status, 0, beam.stderr);
  const read = () =>
    parseTranscript(
      JSON.parse(readFileSync(join(outDir, `${libri.split('/').pop()!}.transcript.json`), 'utf8')),
    );
  const reference = JSON.parse(
    readFileSync(join(root, 'test/fixtures/reference/tiny-random/transcribe/libri_en_beam5.json'), 'utf8'),
  ) as { result: { segments: { tokens: number[] }[] } };
  assert.deepEqual(
    read().segments.map((segment) => segment.tokens),
    reference.result.segments.map((segment) => segment.tokens),
  );
  const fallback = cli(
    libri,
    ...common,
    '--temperature',
    '0,0.6',
    '--logprob-threshold',
    '-1',
    '--no-speech-threshold',
    '0.9',
    '--seed',
    '3',
    '--max-new-tokens',
    '20',
  );
  assert.equal(fallback.status, 0, fallback.stderr);
  assert.ok(read().segments.every((segment) => segment.temperature === 0.6));
  const wrong = cli(libri, ...common, '--no-speech-threshold', '2');
  assert.notEqual(wrong.status, 0);
  assert.match(wrong.stderr, /noSpeechThreshold 2 is out of range/);
});

test('--timestamps none --format txt writes the text of one segment', () => {
  const run = cli(
    jfk,
    '--model',
    modelDir,
    '--language',
    'en',
    '--timestamps',
    'none',
    '--format',
    'txt',
    '--out-dir',
    outDir,
    '--provider',
    'cpu',
    '--overwrite',
    '--no-print-segments',
  );
  assert.equal(run.status, 0, run.stderr);
  assert.ok(readFileSync(join(outDir, 'jfk.txt'), 'utf8').trim().length > 0);
  assert.equal(run.stdout, '', '--no-print-segments');
});

test('--timestamps word --format json writes the words of OpenAI; a model without cross-attention is refused', async () => {
  const timestampedDir = await tinyRandomModel({ timestamped: true });
  const args = (model: string) => [
    jfk,
    '--model',
    model,
    '--language',
    'en',
    '--temperature',
    '0',
    '--timestamps',
    'word',
    '--format',
    'json',
    '--out-dir',
    outDir,
    '--provider',
    'cpu',
    '--overwrite',
  ];
  const run = cli(...args(timestampedDir));
  assert.equal(run.status, 0, run.stderr);
  const transcript = parseTranscript(
    JSON.parse(readFileSync(join(outDir, 'jfk.wav.transcript.json'), 'utf8')),
  );
  const reference = JSON.parse(
    readFileSync(join(root, 'test/fixtures/reference/tiny-random/transcribe/jfk_en_t0_words.json'), 'utf8'),
  ) as { result: { segments: { words: { word: string; start: number; end: number }[] }[] } };
  assert.deepEqual(
    transcript.segments.map((segment) =>
      segment.words?.map((word) => [word.word, word.startSec, word.endSec]),
    ),
    reference.result.segments.map((segment) =>
      segment.words.map((word) => [word.word, word.start, word.end]),
    ),
  );
  assert.ok(transcript.segments.some((segment) => (segment.words?.length ?? 0) > 0));

  const plain = cli(...args(modelDir));
  assert.equal(plain.status, 4, plain.stderr);
  assert.match(plain.stderr, /--timestamped/);
});

test('failures are clear messages with the error kind as exit code', () => {
  const empty = join(outDir, 'empty.wav');
  writeFileSync(empty, '');
  const cases: [string[], number, RegExp][] = [
    [[jfk], 2, /needs --model/],
    [[jfk, '--model', outDir], 4, /no config\.json/],
    [[jfk, '--model', modelDir, '--dtype', 'q4', '--provider', 'cpu'], 4, /no q4 encoder/],
    [[jfk, '--model', modelDir, '--dtype', 'fp64'], 2, /unsupported encoder dtype "fp64"/],
    [[empty, '--model', modelDir, '--provider', 'cpu'], 3, /empty/],
    [[jfk, '--model', modelDir, '--language', 'xx', '--provider', 'cpu'], 2, /language "xx"/],
    [[jfk, '--model', modelDir, '--format', 'doc'], 2, /argument 'doc' is invalid/],
  ];
  for (const [args, status, message] of cases) {
    const run = cli(...args);
    assert.equal(run.status, status, `${args.join(' ')}: ${run.stderr}`);
    assert.match(run.stderr, message);
  }
});
