import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import {
  alignByTime,
  announcementFor,
  cycle,
  doubtfulSegments,
  findMatches,
  formatClock,
  mergeSegments,
  IN_STEP_SEC,
  MAX_RATE_NUDGE,
  MIN_PLAYBACK_ANNOUNCEMENT_GAP_SEC,
  nextInOrder,
  parseViewState,
  positionAt,
  RESYNC_SEC,
  replaceSegmentText,
  segmentsAsText,
  videoCorrection,
  wordRanges,
} from '../../src/transcript/panelState';
import {
  parseTranscript,
  serializeTranscript,
  TRANSCRIPT_SCHEMA,
  type Segment,
  type Transcript,
} from '../../src/transcript/result';

function segment(
  id: number,
  startSec: number,
  endSec: number,
  text: string,
  extra: Partial<Segment> = {},
): Segment {
  return {
    id,
    startSec,
    endSec,
    text,
    tokens: [50364, 400 + id, 50414],
    avgLogprob: -0.2,
    noSpeechProb: 0.01,
    compressionRatio: 1.2,
    temperature: 0,
    ...extra,
  };
}

const words = [
  { word: ' And', startSec: 0.3, endSec: 0.5, probability: 0.9 },
  { word: ' so', startSec: 0.5, endSec: 0.8, probability: 0.95 },
  // A gap from 0.8 to 1.1 s between words.
  { word: ' my', startSec: 1.1, endSec: 1.3, probability: 0.4 },
];

// Segments with a gap between 2.0 and 3.0 s.
const segments: Segment[] = [
  segment(0, 0, 2, ' And so my', { words }),
  segment(1, 3, 5.5, ' fellow Americans, ask not'),
  segment(2, 5.5, 8, ' what your country can do for you.'),
];

function transcript(list: readonly Segment[] = segments): Transcript {
  return {
    schema: TRANSCRIPT_SCHEMA,
    language: 'en',
    languageProbability: 0.99,
    durationSec: 11,
    segments: list,
  };
}

describe('positionAt', () => {
  test('finds the segment whose [start, end) holds the time, boundaries included at the start', () => {
    assert.deepEqual(positionAt(segments, 3, 'none'), { segmentIndex: 1 });
    assert.deepEqual(positionAt(segments, 4.2, 'none'), { segmentIndex: 1 });
    // 5.5 is the end of segment 1 and the start of segment 2: the later one is current.
    assert.deepEqual(positionAt(segments, 5.5, 'none'), { segmentIndex: 2 });
    assert.deepEqual(positionAt(segments, 7.999, 'none'), { segmentIndex: 2 });
  });

  test('before the first segment nothing is current under either policy', () => {
    const late = [segment(0, 1, 2, ' a')];
    assert.equal(positionAt(late, 0.5, 'none'), undefined);
    assert.equal(positionAt(late, 0.5, 'previous'), undefined);
    assert.equal(positionAt([], 1, 'previous'), undefined);
  });

  test('in a gap between segments: nothing under "none", the previous segment under "previous"', () => {
    assert.equal(positionAt(segments, 2.5, 'none'), undefined);
    assert.equal(positionAt(segments, 2, 'none'), undefined);
    assert.deepEqual(positionAt(segments, 2.5, 'previous'), { segmentIndex: 0, wordIndex: 2 });
    assert.equal(positionAt(segments, 9, 'none'), undefined);
    assert.deepEqual(positionAt(segments, 9, 'previous'), { segmentIndex: 2 });
  });

  test('finds the word within the segment, with the same gap policy', () => {
    assert.deepEqual(positionAt(segments, 0.1, 'none'), { segmentIndex: 0 });
    assert.deepEqual(positionAt(segments, 0.3, 'none'), { segmentIndex: 0, wordIndex: 0 });
    assert.deepEqual(positionAt(segments, 0.6, 'none'), { segmentIndex: 0, wordIndex: 1 });
    assert.deepEqual(positionAt(segments, 0.9, 'none'), { segmentIndex: 0 });
    assert.deepEqual(positionAt(segments, 0.9, 'previous'), { segmentIndex: 0, wordIndex: 1 });
    assert.deepEqual(positionAt(segments, 1.2, 'none'), { segmentIndex: 0, wordIndex: 2 });
  });

  test('agrees with a linear scan on many segments', () => {
    const many = Array.from({ length: 1000 }, (_, id) => segment(id, id * 3, id * 3 + 2, ` s${id}`));
    for (let timeSec = -1; timeSec < 3002; timeSec += 0.37) {
      const expected = many.findIndex((item) => item.startSec <= timeSec && timeSec < item.endSec);
      const position = positionAt(many, timeSec, 'none');
      assert.equal(position?.segmentIndex ?? -1, expected, `at ${timeSec}`);
    }
  });
});

describe('findMatches', () => {
  test('finds every occurrence with offsets into the original text, ignoring case', () => {
    const matches = findMatches(segments, 'O');
    const found = matches.map((match) => [
      match.segmentId,
      segments[match.segmentIndex]!.text.slice(match.startChar, match.endChar),
    ]);
    assert.deepEqual(found, [
      [0, 'o'],
      [1, 'o'],
      [1, 'o'],
      [2, 'o'],
      [2, 'o'],
      [2, 'o'],
      [2, 'o'],
      [2, 'o'],
    ]);
    assert.deepEqual(findMatches(segments, 'americans'), [
      { segmentId: 1, segmentIndex: 1, startChar: 8, endChar: 17 },
    ]);
  });

  test('case-sensitive on request, empty query matches nothing, regex characters are literal', () => {
    assert.equal(findMatches(segments, 'americans', { caseSensitive: true }).length, 0);
    assert.equal(findMatches(segments, '').length, 0);
    assert.equal(findMatches(segments, '.').length, 1);
    assert.equal(findMatches(segments, 'can do (').length, 0);
  });

  test('offsets stay right where lowercasing would change the string length', () => {
    const turkish = [segment(7, 0, 1, ' İstanbul ve izmir')];
    const [match] = findMatches(turkish, 'izmir');
    assert.ok(match);
    assert.equal(turkish[0]!.text.slice(match.startChar, match.endChar), 'izmir');
  });
});

describe('cycle and nextInOrder', () => {
  test('cycle wraps around both ends and starts at the first or last', () => {
    assert.equal(cycle(3, undefined, 1), 0);
    assert.equal(cycle(3, undefined, -1), 2);
    assert.equal(cycle(3, 2, 1), 0);
    assert.equal(cycle(3, 0, -1), 2);
    assert.equal(cycle(3, 1, 1), 2);
    assert.equal(cycle(0, undefined, 1), undefined);
  });

  test('nextInOrder jumps strictly past the current position and wraps', () => {
    const flagged = [2, 5, 9];
    assert.equal(nextInOrder(flagged, 0, 1), 2);
    assert.equal(nextInOrder(flagged, 2, 1), 5);
    assert.equal(nextInOrder(flagged, 9, 1), 2);
    assert.equal(nextInOrder(flagged, 5, -1), 2);
    assert.equal(nextInOrder(flagged, 2, -1), 9);
    assert.equal(nextInOrder(flagged, undefined, -1), 9);
    assert.equal(nextInOrder([], 3, 1), undefined);
  });
});

describe('doubtfulSegments', () => {
  test('flags each of Whisper’s thresholds only when strictly past it', () => {
    const list = [
      segment(0, 0, 1, ' fine'),
      segment(1, 1, 2, ' unsure', { avgLogprob: -1.3 }),
      segment(2, 2, 3, ' edge', { avgLogprob: -1, noSpeechProb: 0.6, compressionRatio: 2.4 }),
      segment(3, 3, 4, ' silence', { noSpeechProb: 0.8 }),
      segment(4, 4, 5, ' loop loop loop loop', { compressionRatio: 3.1, avgLogprob: -1.5 }),
    ];
    assert.deepEqual(
      [...doubtfulSegments(list)],
      [
        [1, ['lowAvgLogprob']],
        [3, ['highNoSpeechProb']],
        [4, ['lowAvgLogprob', 'highCompressionRatio']],
      ],
    );
  });

  test('flags a segment that repeats the previous one, ignoring case and punctuation', () => {
    const list = [
      segment(0, 0, 1, ' Thank you.'),
      segment(1, 1, 2, ' thank you'),
      segment(2, 2, 3, ' Thank you!'),
      segment(3, 3, 4, ' Thank you very much.'),
      segment(4, 4, 5, ' ...'),
      segment(5, 5, 6, ' …'),
    ];
    assert.deepEqual(
      [...doubtfulSegments(list)],
      [
        [1, ['repeatedText']],
        [2, ['repeatedText']],
      ],
    );
  });
});

describe('replaceSegmentText', () => {
  test('changes the text and nothing that carries timing', () => {
    const before = transcript();
    const after = replaceSegmentText(before, 1, 'fellow citizens, ask not');
    const edited = after.segments[1]!;
    assert.equal(edited.text, ' fellow citizens, ask not');
    const { text: _text, tokens: _tokens, ...kept } = edited;
    const { text: _oldText, tokens: _oldTokens, ...original } = before.segments[1]!;
    assert.deepEqual(kept, original);
    assert.deepEqual(edited.tokens, []);
    assert.equal(after.segments[0], before.segments[0]);
    assert.equal(after.segments[2], before.segments[2]);
    // The input is not mutated.
    assert.equal(before.segments[1]!.text, ' fellow Americans, ask not');
  });

  test('keeps word timings when the word count is unchanged, respelling the changed words', () => {
    const after = replaceSegmentText(transcript(), 0, 'And so, my');
    assert.deepEqual(after.segments[0]!.words, [
      words[0],
      { word: ' so,', startSec: 0.5, endSec: 0.8, probability: 1 },
      words[2],
    ]);
  });

  test('drops word timings when the word count changes', () => {
    const after = replaceSegmentText(transcript(), 0, 'And so my dear');
    assert.equal(after.segments[0]!.words, undefined);
    assert.ok(!('words' in after.segments[0]!));
  });

  test('returns the same transcript when the text is unchanged after normalising whitespace', () => {
    const before = transcript();
    assert.equal(replaceSegmentText(before, 0, '  And so my \n'), before);
  });

  test('turns every run of whitespace, line breaks included, into one space', () => {
    assert.equal(
      replaceSegmentText(transcript(), 2, 'what  your\ncountry\r\n can do').segments[2]!.text,
      ' what your country can do',
    );
  });

  test('refuses an unknown segment id', () => {
    assert.throws(() => replaceSegmentText(transcript(), 42, 'x'), /No segment with id 42/);
  });

  test('the edited transcript still passes the schema check and round-trips', () => {
    const after = replaceSegmentText(transcript(), 0, 'And so, my');
    assert.deepEqual(parseTranscript(JSON.parse(serializeTranscript(after))), after);
  });
});

describe('mergeSegments', () => {
  test('appends new segments, replaces ones with the same id, keeps start order', () => {
    const merged = mergeSegments(segments.slice(0, 2), [
      segment(3, 8, 9, ' late'),
      segment(1, 3, 5, ' redone'),
      segments[2]!,
    ]);
    assert.deepEqual(
      merged.map((item) => [item.id, item.text]),
      [
        [0, ' And so my'],
        [1, ' redone'],
        [2, ' what your country can do for you.'],
        [3, ' late'],
      ],
    );
  });
});

describe('formatClock and segmentsAsText', () => {
  test('formats minutes and hours with centiseconds', () => {
    assert.equal(formatClock(0), '0:00.00');
    assert.equal(formatClock(61.234), '1:01.23');
    assert.equal(formatClock(59.999), '1:00.00');
    assert.equal(formatClock(3725.5), '1:02:05.50');
  });

  test('copies segments with their time ranges', () => {
    assert.equal(
      segmentsAsText(segments.slice(1)),
      '[0:03.00 → 0:05.50] fellow Americans, ask not\n[0:05.50 → 0:08.00] what your country can do for you.',
    );
  });
});

describe('wordRanges', () => {
  test('places each word in the segment text when the words join up to it', () => {
    assert.deepEqual(wordRanges(segments[0]!), [
      { startChar: 0, endChar: 4 },
      { startChar: 4, endChar: 7 },
      { startChar: 7, endChar: 10 },
    ]);
  });

  test('gives nothing when there are no words or they do not match the text', () => {
    assert.equal(wordRanges(segments[1]!), undefined);
    assert.equal(wordRanges({ ...segments[0]!, text: ' And so my friends' }), undefined);
  });

  test('still lines up after an edit that keeps the word count', () => {
    const edited = replaceSegmentText(transcript(), 0, 'And  so, my').segments[0]!;
    assert.deepEqual(
      wordRanges(edited)?.map(({ startChar, endChar }) => edited.text.slice(startChar, endChar)),
      [' And', ' so,', ' my'],
    );
  });
});

describe('alignByTime: a translation beside its transcript', () => {
  const spans = (list: readonly [number, number][]) =>
    list.map(([startSec, endSec], id) => segment(id, startSec, endSec, `s${id}`));

  test('the same cuts map one to one', () => {
    const cuts = spans([
      [0, 2],
      [2, 5],
      [5, 9],
    ]);
    assert.deepEqual(alignByTime(cuts, cuts), [[0], [1], [2]]);
  });

  test('a companion segment spanning two goes to the one it overlaps most, and only there', () => {
    const primary = spans([
      [0, 4],
      [4, 6],
      [6, 10],
    ]);
    // 0–5 overlaps the first by 4 s and the second by 1 s; 5–10 overlaps the second by 1 s, the third by 4 s.
    const companion = spans([
      [0, 5],
      [5, 10],
    ]);
    assert.deepEqual(alignByTime(primary, companion), [[0], [], [1]]);
  });

  test('several companion segments inside one primary segment stay in order', () => {
    const primary = spans([[0, 10]]);
    const companion = spans([
      [0, 3],
      [3, 6.5],
      [6.5, 10],
    ]);
    assert.deepEqual(alignByTime(primary, companion), [[0, 1, 2]]);
  });

  test('an equal overlap goes to the earlier segment', () => {
    const primary = spans([
      [0, 2],
      [2, 4],
    ]);
    assert.deepEqual(alignByTime(primary, spans([[1, 3]])), [[0], []]);
  });

  test('a companion segment in a pause of the primary goes to the nearest one; none is dropped', () => {
    const primary = spans([
      [0, 2],
      [8, 10],
      [20, 22],
    ]);
    const companion = spans([
      [2.5, 3], // 0.5 s after the first, 5 s before the second
      [6, 7.5], // 0.5 s before the second
      [12, 13], // 2 s after the second
      [30, 31], // after the end
      [-1, -0.5], // (impossible in Whisper output, still placed) before the start
    ]).sort((a, b) => a.startSec - b.startSec);
    const aligned = alignByTime(primary, companion);
    assert.deepEqual(
      aligned.map((indexes) => indexes.map((index) => companion[index]!.startSec)),
      [[-1, 2.5], [6, 12], [30]],
    );
    assert.equal(aligned.flat().length, companion.length);
  });

  test('nothing to align with', () => {
    assert.deepEqual(alignByTime([], spans([[0, 1]])), []);
    assert.deepEqual(alignByTime(spans([[0, 1]]), []), [[]]);
  });

  test('matches a brute-force assignment on random cuts', () => {
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const randomCuts = (count: number) => {
      let atSec = 0;
      return spans(
        Array.from({ length: count }, (): [number, number] => {
          const startSec = atSec + (random() < 0.3 ? random() * 3 : 0);
          atSec = startSec + 0.5 + random() * 6;
          return [Math.round(startSec * 100) / 100, Math.round(atSec * 100) / 100];
        }),
      );
    };
    for (let round = 0; round < 50; round++) {
      const primary = randomCuts(1 + Math.floor(random() * 12));
      const companion = randomCuts(Math.floor(random() * 12));
      const expected = primary.map((): number[] => []);
      companion.forEach((c, companionIndex) => {
        let best = 0;
        primary.forEach((p, index) => {
          const score = (q: Segment) => Math.min(q.endSec, c.endSec) - Math.max(q.startSec, c.startSec);
          if (score(p) > score(primary[best]!)) best = index;
        });
        expected[best]!.push(companionIndex);
      });
      assert.deepEqual(alignByTime(primary, companion), expected, `round ${round}`);
    }
  });
});

describe('videoCorrection: a muted video following its audio', () => {
  test('in step within a frame: the audio rate', () => {
    assert.deepEqual(videoCorrection(10, 10 + IN_STEP_SEC, 1.5), { rate: 1.5 });
    assert.deepEqual(videoCorrection(10, 10 - IN_STEP_SEC, 1), { rate: 1 });
  });

  test('a small drift is closed by a rate nudge toward the audio, proportional and bounded', () => {
    const ahead = videoCorrection(10, 10.08, 1);
    const behind = videoCorrection(10, 9.92, 1);
    assert.ok('rate' in ahead && 'rate' in behind);
    assert.ok(Math.abs(ahead.rate - 0.92) < 1e-9, `video ahead slows down: ${ahead.rate}`);
    assert.ok(Math.abs(behind.rate - 1.08) < 1e-9, `video behind speeds up: ${behind.rate}`);
    const atLimit = videoCorrection(10, 10 + RESYNC_SEC, 2);
    assert.ok('rate' in atLimit);
    assert.ok(Math.abs(atLimit.rate - 2 * (1 - MAX_RATE_NUDGE)) < 1e-9, `${atLimit.rate}`);
  });

  test('past RESYNC_SEC the video jumps to the audio', () => {
    assert.deepEqual(videoCorrection(10, 10 + RESYNC_SEC + 0.001, 1), { seekToSec: 10 });
    assert.deepEqual(videoCorrection(3.5, 0, 1), { seekToSec: 3.5 });
  });
});

describe('parseViewState', () => {
  test('a saved place comes back; the row index is whole', () => {
    assert.deepEqual(parseViewState({ timeSec: 9.25, scrollTopPx: 40, focusedIndex: 3 }), {
      timeSec: 9.25,
      scrollTopPx: 40,
      focusedIndex: 3,
    });
    assert.equal(parseViewState({ timeSec: 0, scrollTopPx: 0, focusedIndex: 2.7 })?.focusedIndex, 2);
  });

  test('anything else (no state yet, an older shape, bad numbers) is no state', () => {
    for (const value of [
      undefined,
      null,
      'x',
      {},
      { timeSec: 1, scrollTopPx: 0 },
      { timeSec: -1, scrollTopPx: 0, focusedIndex: 0 },
      { timeSec: Number.NaN, scrollTopPx: 0, focusedIndex: 0 },
      { timeSec: 1, scrollTopPx: '4', focusedIndex: 0 },
      { timeSec: 1, scrollTopPx: 0, focusedIndex: Infinity },
    ]) {
      assert.equal(parseViewState(value), undefined, JSON.stringify(value));
    }
  });
});

describe('announcementFor: the live region', () => {
  test('a seek that leaves focus in place says the time and the segment there', () => {
    assert.equal(announcementFor(segments, 5.32, 'seek', 0), '0:05.32: fellow Americans, ask not');
    // In the gap after the first segment, the previous one still holds the place.
    assert.equal(announcementFor(segments, 2.5, 'seek', 0), '0:02.50: And so my');
    assert.equal(announcementFor(segments, 0, 'seek', 0), '0:00.00: And so my');
    assert.equal(announcementFor([], 1, 'seek', 0), '0:01.00');
  });

  test('focus moved to a row: silent, the screen reader reads the row', () => {
    assert.equal(announcementFor(segments, 3, 'focus', Infinity), undefined);
  });

  test('playing on: the segment like a caption, but not right after another announcement', () => {
    assert.equal(announcementFor(segments, 6, 'playback', Infinity), 'what your country can do for you.');
    assert.equal(
      announcementFor(segments, 6, 'playback', MIN_PLAYBACK_ANNOUNCEMENT_GAP_SEC),
      'what your country can do for you.',
    );
    assert.equal(
      announcementFor(segments, 6, 'playback', MIN_PLAYBACK_ANNOUNCEMENT_GAP_SEC - 0.1),
      undefined,
    );
    assert.equal(announcementFor([segment(0, 0, 1, ' ')], 0.5, 'playback', Infinity), undefined);
  });
});
