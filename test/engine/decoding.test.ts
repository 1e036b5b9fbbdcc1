import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { cutSegments } from '../../src/engine/transcribe';

const tb = 50364;
const window = { timeOffsetSec: 30, segmentFrames: 3000, framesPerTimestamp: 2 };

test('cutSegments: pairs cut segments; unfinished text after the last pair moves the next window there', () => {
  const cut = cutSegments([tb + 44, 1, 2, tb + 100, tb + 100, 3, tb + 150, tb + 150, 4, 5], tb, window);
  assert.deepEqual(
    cut.pieces.map((piece) => [piece.startSec, piece.endSec, piece.tokens]),
    [
      [30 + 44 * 0.02, 30 + 100 * 0.02, [tb + 44, 1, 2, tb + 100]],
      [30 + 100 * 0.02, 30 + 150 * 0.02, [tb + 100, 3, tb + 150]],
    ],
  );
  assert.equal(cut.advanceFrames, 300);
});

test('cutSegments: a single timestamp at the end closes the last segment and consumes the window', () => {
  const cut = cutSegments([tb, 1, tb + 10, tb + 10, 2, tb + 20], tb, { ...window, segmentFrames: 1100 });
  assert.equal(cut.pieces.length, 2);
  assert.deepEqual(cut.pieces[1]!.tokens, [tb + 10, 2, tb + 20]);
  assert.equal(cut.advanceFrames, 1100);
});

test('cutSegments: without a pair the window is one segment up to its last timestamp, or its end', () => {
  const withTimestamp = cutSegments([tb + 5, 1, 2, tb + 60], tb, window);
  assert.deepEqual(
    [withTimestamp.pieces[0]!.startSec, withTimestamp.pieces[0]!.endSec],
    [30, 30 + 60 * 0.02],
  );
  const textOnly = cutSegments([1, 2, 3], tb, { ...window, segmentFrames: 1234 });
  assert.deepEqual([textOnly.pieces[0]!.endSec, textOnly.advanceFrames], [30 + 12.34, 1234]);
});
