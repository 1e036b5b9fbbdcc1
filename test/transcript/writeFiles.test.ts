import { strict as assert } from 'node:assert';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { SttError } from '../../src/engine/errors';
import { FORMATS } from '../../src/transcript/formats';
import { parseTranscript, type Segment } from '../../src/transcript/result';
import { writeTranscriptFiles } from '../../src/transcript/writeFiles';
import { EDGE_SEGMENTS, segment, transcript } from './helpers';

let folder = '';
let mediaPath = '';
const sample = transcript(EDGE_SEGMENTS);

beforeEach(async () => {
  folder = await mkdtemp(join(tmpdir(), 'quantum-stt-write-'));
  mediaPath = join(folder, 'talk.mp4');
  await writeFile(mediaPath, 'not really a video');
});

afterEach(async () => {
  await rm(folder, { recursive: true, force: true });
});

const isUsageError = (error: unknown) => error instanceof SttError && error.kind === 'usage';

test('writes each format next to the media, the JSON under the whole media name', async () => {
  const written = await writeTranscriptFiles(sample, { mediaPath, formats: ['srt', 'json', 'vtt', 'srt'] });
  assert.deepEqual(written, [
    join(folder, 'talk.srt'),
    join(folder, 'talk.mp4.transcript.json'),
    join(folder, 'talk.vtt'),
  ]);
  assert.equal(await readFile(join(folder, 'talk.srt'), 'utf8'), FORMATS.srt.render(sample));
  assert.equal(await readFile(join(folder, 'talk.vtt'), 'utf8'), FORMATS.vtt.render(sample));
  const json = await readFile(join(folder, 'talk.mp4.transcript.json'), 'utf8');
  assert.deepEqual(parseTranscript(JSON.parse(json)), sample);
  assert.deepEqual((await readdir(folder)).sort(), [
    'talk.mp4',
    'talk.mp4.transcript.json',
    'talk.srt',
    'talk.vtt',
  ]);
});

test('passes render options on', async () => {
  const long = transcript([segment(0, 0, 4, 'one two three four five six')]);
  await writeTranscriptFiles(long, { mediaPath, formats: ['srt'], render: { maxLineWidth: 9 } });
  assert.equal(
    await readFile(join(folder, 'talk.srt'), 'utf8'),
    FORMATS.srt.render(long, { maxLineWidth: 9 }),
  );
  assert.ok(
    (await readFile(join(folder, 'talk.srt'), 'utf8')).includes('\none two\nthree\nfour five\nsix\n'),
  );
});

test('refuses to overwrite without the flag, and then writes nothing at all', async () => {
  await writeFile(join(folder, 'talk.srt'), 'old');
  await assert.rejects(
    writeTranscriptFiles(sample, { mediaPath, formats: ['vtt', 'srt'] }),
    (error: unknown) => {
      assert.ok(isUsageError(error), String(error));
      assert.match((error as Error).message, /talk\.srt already exists/);
      return true;
    },
  );
  assert.equal(await readFile(join(folder, 'talk.srt'), 'utf8'), 'old');
  assert.deepEqual((await readdir(folder)).sort(), ['talk.mp4', 'talk.srt']);
});

test('overwrites with the flag', async () => {
  await writeFile(join(folder, 'talk.srt'), 'old');
  await writeTranscriptFiles(sample, { mediaPath, formats: ['srt'], overwrite: true });
  assert.equal(await readFile(join(folder, 'talk.srt'), 'utf8'), FORMATS.srt.render(sample));
  assert.deepEqual((await readdir(folder)).sort(), ['talk.mp4', 'talk.srt']);
});

test('leaves nothing behind when rendering throws', async () => {
  const broken = transcript([{ ...segment(0, 0, 1, 'x'), text: undefined } as unknown as Segment]);
  await assert.rejects(writeTranscriptFiles(broken, { mediaPath, formats: ['txt', 'srt'] }), TypeError);
  assert.deepEqual(await readdir(folder), ['talk.mp4']);
});

test('leaves no temporary file when the final rename fails', async () => {
  // A folder where the file should go: the temporary file is written, then cannot replace it.
  await mkdir(join(folder, 'talk.srt'));
  await assert.rejects(writeTranscriptFiles(sample, { mediaPath, formats: ['srt'], overwrite: true }));
  assert.deepEqual((await readdir(folder)).sort(), ['talk.mp4', 'talk.srt']);
  assert.deepEqual(await readdir(join(folder, 'talk.srt')), []);
});

test('writes into outDir, creating it, and nothing next to the media', async () => {
  const outDir = join(folder, 'subtitles', 'en');
  const written = await writeTranscriptFiles(sample, { mediaPath, formats: ['txt', 'tsv'], outDir });
  assert.deepEqual(written, [join(outDir, 'talk.txt'), join(outDir, 'talk.tsv')]);
  assert.equal(await readFile(join(outDir, 'talk.tsv'), 'utf8'), FORMATS.tsv.render(sample));
  assert.deepEqual((await readdir(folder)).sort(), ['subtitles', 'talk.mp4']);
  assert.deepEqual((await readdir(outDir)).sort(), ['talk.tsv', 'talk.txt']);
});
