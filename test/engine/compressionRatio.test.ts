import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { deflateSync } from 'node:zlib';
import { compressionRatio } from '../../src/engine/compressionRatio';

// Lengths of Python's zlib.compress() for reference-transcript texts and random word soups, made by
// test/fixtures/zlib/make-python-zlib-lengths.py.
const cases: { t: string; n: number }[] = JSON.parse(
  readFileSync(join(__dirname, '..', 'fixtures', 'zlib', 'python-zlib-lengths.json'), 'utf8'),
);

test('compression ratio uses exactly the compressed length Python zlib gives', () => {
  assert.ok(cases.length > 400);
  for (const { t, n } of cases) {
    const byteLength = Buffer.byteLength(t, 'utf8');
    assert.equal(compressionRatio(t), byteLength / n, JSON.stringify(t.slice(0, 40)));
  }
});

test("Node's own zlib would not do: it differs from Python's on many of these inputs", () => {
  const differing = cases.filter(({ t, n }) => deflateSync(Buffer.from(t, 'utf8')).length !== n).length;
  assert.ok(differing > 0, 'if Node ever matches reference zlib, pako is no longer needed');
});

test('the ratio is OpenAI-shaped: repetitive text is above the 2.4 threshold, ordinary text below', () => {
  assert.ok(compressionRatio('the same words again and again '.repeat(20)) > 2.4);
  assert.ok(compressionRatio('A short, ordinary sentence.') < 2.4);
});
