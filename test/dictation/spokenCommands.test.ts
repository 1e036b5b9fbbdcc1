import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applySpokenCommands } from '../../src/dictation/spokenCommands';

test('English punctuation words become punctuation attached to the word before', () => {
  assert.equal(applySpokenCommands('Hello comma world period', 'en'), 'Hello, world.');
  assert.equal(applySpokenCommands('Is it done question mark', 'en'), 'Is it done?');
  assert.equal(applySpokenCommands('key colon value semicolon', 'en'), 'key: value;');
});

test("Whisper's own punctuation around a command word is dropped", () => {
  assert.equal(applySpokenCommands('Hello, comma, world. Period.', 'en'), 'Hello, world.');
});

test('brackets attach inwards and new line joins without spaces', () => {
  assert.equal(
    applySpokenCommands('see the note open paren below close paren', 'en'),
    'see the note (below)',
  );
  assert.equal(applySpokenCommands('first line new line second line', 'en'), 'first line\nsecond line');
  assert.equal(applySpokenCommands('one. New paragraph. Two', 'en'), 'one\n\nTwo');
});

test('words that only contain a command phrase are left alone', () => {
  assert.equal(
    applySpokenCommands('the periodic table has a colonel', 'en'),
    'the periodic table has a colonel',
  );
  assert.equal(applySpokenCommands('Commas are fine', 'en'), 'Commas are fine');
});

test('a language without a table is returned unchanged', () => {
  assert.equal(applySpokenCommands('Hallo Komma Welt', 'de'), 'Hallo Komma Welt');
});
