import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { parseSync, type NodeCue } from 'subtitle';
import { SttError } from '../../src/engine/errors';
import {
  FORMAT_IDS,
  FORMATS,
  isFormatId,
  segmentLine,
  transcriptFileName,
  type RenderOptions,
} from '../../src/transcript/formats';
import { parseTranscript, type Segment } from '../../src/transcript/result';
import { EDGE_SEGMENTS, normalizedCueText, segment, transcript } from './helpers';

interface ParsedCue {
  startMs: number;
  endMs: number;
  text: string;
}

const TIME = String.raw`(\d{2,}):([0-5]\d):([0-5]\d)[,.](\d{3})`;

function milliseconds(match: RegExpExecArray, first: number): number {
  const [hours, minutes, seconds, ms] = match.slice(first, first + 4).map(Number) as [
    number,
    number,
    number,
    number,
  ];
  return ((hours * 60 + minutes) * 60 + seconds) * 1000 + ms;
}

/** Exactly the SRT this project writes: numbered from 1, one blank line between cues, no blank line inside. */
function strictSrt(document: string): ParsedCue[] {
  if (document === '') return [];
  assert.ok(document.endsWith('\n') && !document.endsWith('\n\n'), 'ends with exactly one newline');
  const timing = new RegExp(`^${TIME.replace('[,.]', ',')} --> ${TIME.replace('[,.]', ',')}$`);
  return document
    .slice(0, -1)
    .split('\n\n')
    .map((block, index) => {
      const [sequence, times = '', ...lines] = block.split('\n');
      assert.equal(sequence, String(index + 1));
      const match = timing.exec(times);
      assert.ok(match, `timing line ${JSON.stringify(times)}`);
      assert.ok(lines.length > 0, 'a cue has text');
      for (const line of lines) {
        assert.notEqual(line.trim(), '', 'no blank line inside a cue');
        assert.ok(!line.includes('-->'), `no --> in text: ${line}`);
      }
      return { startMs: milliseconds(match, 1), endMs: milliseconds(match, 5), text: lines.join('\n') };
    });
}

const CUE_TIMESTAMP = new RegExp(`<${TIME.replace('[,.]', '\\.')}>`, 'g');

/** Exactly the WebVTT this project writes; returns cue text with cue timestamps removed and entities decoded. */
function strictVtt(document: string): (ParsedCue & { timestampsMs: number[] })[] {
  if (document === 'WEBVTT\n') return [];
  assert.ok(document.startsWith('WEBVTT\n\n'), 'header then a blank line');
  assert.ok(document.endsWith('\n') && !document.endsWith('\n\n'), 'ends with exactly one newline');
  const timing = new RegExp(`^${TIME.replace('[,.]', '\\.')} --> ${TIME.replace('[,.]', '\\.')}$`);
  return document
    .slice('WEBVTT\n\n'.length, -1)
    .split('\n\n')
    .map((block) => {
      const [times = '', ...lines] = block.split('\n');
      const match = timing.exec(times);
      assert.ok(match, `timing line ${JSON.stringify(times)}`);
      assert.ok(lines.length > 0, 'a cue has text');
      const timestampsMs = [...block.matchAll(CUE_TIMESTAMP)].map((tag) => milliseconds(tag, 1));
      const text = lines.join('\n').replace(CUE_TIMESTAMP, '');
      for (const line of text.split('\n')) assert.notEqual(line.trim(), '', 'no blank line inside a cue');
      assert.ok(!/[<>]/.test(text), `no raw < or > in text: ${text}`);
      assert.ok(!/&(?!amp;|lt;|gt;)/.test(text), `every & starts an escape: ${text}`);
      const decoded = text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
      return { startMs: milliseconds(match, 1), endMs: milliseconds(match, 5), text: decoded, timestampsMs };
    });
}

function subtitleCues(document: string): ParsedCue[] {
  return parseSync(document)
    .filter((node): node is NodeCue => node.type === 'cue')
    .map(({ data }) => ({ startMs: data.start, endMs: data.end, text: data.text }));
}

const edges = transcript(EDGE_SEGMENTS);
const spoken = EDGE_SEGMENTS.filter((item) => item.text.trim() !== '');

function assertCuesMatch(cues: readonly ParsedCue[], expectedText: (item: Segment) => string): void {
  assert.equal(cues.length, spoken.length);
  cues.forEach((cue, index) => {
    const item = spoken[index]!;
    assert.ok(Math.abs(cue.startMs - item.startSec * 1000) <= 1, `start ${cue.startMs} vs ${item.startSec}`);
    assert.ok(Math.abs(cue.endMs - item.endSec * 1000) <= 1, `end ${cue.endMs} vs ${item.endSec}`);
    assert.equal(cue.text, expectedText(item));
  });
}

const srtText = (item: Segment) => normalizedCueText(item.text).replace(/-{2,}>/g, '->');
const vttText = (item: Segment) => normalizedCueText(item.text);

test('SRT parses back to the same cues, with the strict parser and with subtitle', () => {
  const document = FORMATS.srt.render(edges);
  assertCuesMatch(strictSrt(document), srtText);
  assertCuesMatch(subtitleCues(document), srtText);
});

test('VTT parses back to the same cues, with the strict parser and with subtitle', () => {
  const document = FORMATS.vtt.render(edges);
  assertCuesMatch(strictVtt(document), vttText);
  const decode = (text: string) => text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  assertCuesMatch(
    subtitleCues(document).map((cue) => ({ ...cue, text: decode(cue.text) })),
    vttText,
  );
  assert.equal(parseSync(document)[0]?.type, 'header');
});

test('the escaping rules, spelled out', () => {
  const srt = FORMATS.srt.render(edges);
  assert.ok(srt.includes('\na -> b and <b>bold</b> & co &amp; x<y\n'));
  assert.ok(srt.includes('\nline one\nline two\nthree\n'));
  assert.ok(srt.includes('\n->>> 42\n'));
  const vtt = FORMATS.vtt.render(edges);
  assert.ok(vtt.includes('\na --&gt; b and &lt;b&gt;bold&lt;/b&gt; &amp; co &amp;amp; x&lt;y\n'));
  assert.ok(vtt.includes('\n你好，世界 🎉 emoji 👨‍👩‍👧 ok\n'));
  assert.ok(vtt.includes('\nمرحبا بالعالم שלום עולם\n'));
});

test('times: 0, rounding at .9995, past an hour and past 99 hours', () => {
  const times = transcript([
    segment(0, 0, 0.9995, 'a'),
    segment(1, 59.9995, 3599.9995, 'b'),
    segment(2, 3661.001, 360_000.5, 'c'),
  ]);
  assert.equal(
    FORMATS.srt.render(times),
    '1\n00:00:00,000 --> 00:00:01,000\na\n\n' +
      '2\n00:01:00,000 --> 01:00:00,000\nb\n\n' +
      '3\n01:01:01,001 --> 100:00:00,500\nc\n',
  );
  assert.equal(
    FORMATS.vtt.render(times),
    'WEBVTT\n\n00:00:00.000 --> 00:00:01.000\na\n\n' +
      '00:01:00.000 --> 01:00:00.000\nb\n\n' +
      '01:01:01.001 --> 100:00:00.500\nc\n',
  );
  assert.deepEqual(
    subtitleCues(FORMATS.srt.render(times)).map((cue) => [cue.startMs, cue.endMs]),
    [
      [0, 1000],
      [60_000, 3_600_000],
      [3_661_001, 360_000_500],
    ],
  );
});

test('an empty transcript renders as an empty document of each kind', () => {
  const empty = transcript([]);
  assert.equal(FORMATS.srt.render(empty), '');
  assert.equal(FORMATS.vtt.render(empty), 'WEBVTT\n');
  assert.equal(FORMATS.txt.render(empty), '');
  assert.equal(FORMATS.tsv.render(empty), 'start\tend\ttext\n');
  assert.deepEqual(parseTranscript(JSON.parse(FORMATS.json.render(empty))), empty);
});

test('txt: one trimmed line per spoken segment', () => {
  assert.equal(
    FORMATS.txt.render(
      transcript([segment(0, 0, 1, ' One.'), segment(1, 1, 2, ' '), segment(2, 2, 3, 'Two\nlines ')]),
    ),
    'One.\nTwo lines\n',
  );
});

test('tsv: integer milliseconds and single-line text, a row for every segment', () => {
  assert.equal(
    FORMATS.tsv.render(
      transcript([
        segment(0, 0.0004, 1.9996, ' tab\there'),
        segment(1, 2, 2.5, ''),
        segment(2, 3, 4, 'a\n\nb'),
      ]),
    ),
    'start\tend\ttext\n0\t2000\ttab here\n2000\t2500\t\n3000\t4000\ta b\n',
  );
});

test('json renders serializeTranscript and parses back', () => {
  assert.deepEqual(parseTranscript(JSON.parse(FORMATS.json.render(edges))), edges);
});

const longText =
  ' The quick brown fox jumps over the lazy dog while an extraordinarily-long-hyphenated-word waits.';

test('maxLineWidth wraps at spaces, and between CJK characters', () => {
  const wrapped = strictSrt(
    FORMATS.srt.render(transcript([segment(0, 0, 5, longText)]), { maxLineWidth: 20 }),
  );
  assert.equal(wrapped.length, 1);
  const lines = wrapped[0]!.text.split('\n');
  assert.ok(lines.length > 1);
  for (const line of lines) {
    assert.ok([...line].length <= 20 || !line.includes(' '), `too long: ${line}`);
  }
  assert.equal(lines.join(' '), longText.trim());

  const cjk = '我们今天在这里讨论语音识别的未来发展方向和挑战';
  const cjkLines = strictVtt(
    FORMATS.vtt.render(transcript([segment(0, 0, 5, cjk)]), { maxLineWidth: 8 }),
  )[0]!.text.split('\n');
  assert.deepEqual(
    cjkLines.map((line) => [...line].length),
    [8, 8, 7],
  );
  assert.equal(cjkLines.join(''), cjk);
});

test('maxLineCount splits a long segment into back-to-back cues', () => {
  const item = segment(0, 10, 20, 'aaaa bbbb cccc dddd eeee ffff gggg hhhh');
  const cues = strictSrt(
    FORMATS.srt.render(transcript([item, segment(1, 20, 21, 'next')]), { maxLineWidth: 9, maxLineCount: 2 }),
  );
  assert.deepEqual(
    cues.map((cue) => cue.text),
    ['aaaa bbbb\ncccc dddd', 'eeee ffff\ngggg hhhh', 'next'],
  );
  // Without word timings, time is shared out by characters: two equal halves.
  assert.deepEqual(
    cues.map((cue) => [cue.startMs, cue.endMs]),
    [
      [10_000, 15_000],
      [15_000, 20_000],
      [20_000, 21_000],
    ],
  );
});

// ' &' starts before the word in front of it, as word timings sometimes do.
const timedWords = (moreStartSec: number) =>
  segment(0, 1, 4, ' Hello big world & more', [
    { word: ' Hello', startSec: 1, endSec: 1.4, probability: 0.9 },
    { word: ' big', startSec: 1.5, endSec: 2, probability: 0.9 },
    { word: ' world', startSec: 2.25, endSec: 2.9, probability: 0.9 },
    { word: ' &', startSec: 2.2, endSec: 3, probability: 0.9 },
    { word: ' more', startSec: moreStartSec, endSec: 4, probability: 0.9 },
  ]);

test('vtt with words: karaoke cue timestamps strictly inside the cue and increasing', () => {
  const document = FORMATS.vtt.render(transcript([timedWords(4)]), { words: true });
  // ' &' starts before ' world' and ' more' at the cue end: neither may carry a timestamp.
  assert.equal(
    document,
    'WEBVTT\n\n00:00:01.000 --> 00:00:04.000\nHello <00:00:01.500>big <00:00:02.250>world &amp; more\n',
  );
  const [cue] = strictVtt(document);
  assert.deepEqual(cue?.timestampsMs, [1500, 2250]);
  assert.equal(cue?.text, 'Hello big world & more');
  assert.equal(FORMATS.vtt.render(transcript([timedWords(4)])).includes('<0'), false);
});

test('words with maxLineCount split cues at the first word of each cue', () => {
  const options: RenderOptions = { words: true, maxLineWidth: 10, maxLineCount: 1 };
  const cues = strictSrt(FORMATS.srt.render(transcript([timedWords(3)]), options));
  assert.deepEqual(
    cues.map((cue) => [cue.startMs, cue.endMs, cue.text]),
    [
      [1000, 2250, 'Hello big'],
      [2250, 3000, 'world &'],
      [3000, 4000, 'more'],
    ],
  );
  // One word per cue: the cue of ' &' may not start before the one of ' world', so that one shrinks to nothing.
  const oneWordCues = strictVtt(
    FORMATS.vtt.render(transcript([timedWords(3)]), { ...options, maxLineWidth: 5 }),
  );
  assert.deepEqual(
    oneWordCues.map((cue) => [cue.startMs, cue.endMs, cue.text]),
    [
      [1000, 1500, 'Hello'],
      [1500, 2250, 'big'],
      [2250, 2250, 'world'],
      [2250, 3000, '&'],
      [3000, 4000, 'more'],
    ],
  );
});

test('render options must be whole numbers above 0', () => {
  for (const options of [
    { maxLineWidth: 0 },
    { maxLineCount: -1 },
    { maxLineWidth: 2.5 },
    { maxLineCount: NaN },
  ]) {
    assert.throws(
      () => FORMATS.srt.render(edges, options),
      (error: unknown) => error instanceof SttError && error.kind === 'usage',
    );
  }
});

test('the format table and file names', () => {
  assert.deepEqual(FORMAT_IDS, ['txt', 'srt', 'vtt', 'json', 'tsv']);
  for (const id of FORMAT_IDS) assert.equal(FORMATS[id].id, id);
  assert.ok(isFormatId('vtt'));
  assert.ok(!isFormatId('toString'));
  assert.ok(!isFormatId('SRT'));
  assert.equal(transcriptFileName('talk.mp4', 'srt'), 'talk.srt');
  assert.equal(transcriptFileName('talk.mp4', 'json'), 'talk.mp4.transcript.json');
  assert.equal(transcriptFileName('a.b.wav', 'vtt'), 'a.b.vtt');
  assert.equal(transcriptFileName('noext', 'tsv'), 'noext.tsv');
  assert.equal(transcriptFileName('.hidden', 'txt'), '.hidden.txt');
});

test('a translation is named apart from the transcript of the same media', () => {
  assert.equal(transcriptFileName('talk.mp4', 'json', 'translation'), 'talk.mp4.translation.json');
  assert.equal(transcriptFileName('talk.mp4', 'srt', 'translation'), 'talk.en.srt');
  assert.equal(transcriptFileName('.hidden', 'vtt', 'translation'), '.hidden.en.vtt');
  for (const id of FORMAT_IDS) {
    assert.notEqual(
      transcriptFileName('talk.mp4', id, 'translation'),
      transcriptFileName('talk.mp4', id),
      id,
    );
  }
});

test("segmentLine: a segment as the CLI prints it, hours past 99 included, the text's outer spaces trimmed", () => {
  assert.equal(
    segmentLine({ startSec: 0, endSec: 4.0004, text: ' And so my fellow Americans ' }),
    '[00:00:00.000 --> 00:00:04.000] And so my fellow Americans',
  );
  assert.equal(
    segmentLine({ startSec: 3_599.9996, endSec: 360_061.25, text: 'x' }),
    '[01:00:00.000 --> 100:01:01.250] x',
  );
});
