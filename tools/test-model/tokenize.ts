/**
 * Tokenizes texts with the project's own Whisper tokenizer (src/engine/tokenizer.ts), so the training targets
 * use exactly the ids the engine will decode. Debian has no Python `tokenizers`/`transformers`, and PyPI is not
 * reachable here, so the Python recipe calls this once per run.
 *
 *   node --import tsx tools/test-model/tokenize.ts <tokenizer-folder> < texts.json > ids.json
 *
 * stdin: a JSON array of strings. stdout: {"special": {...}, "languages": {...}, "ids": [[...], ...]}, where
 * ids[i] are the plain-text tokens of texts[i] (no special tokens added).
 */
import { readFileSync } from 'node:fs';
import { WhisperTokenizer } from '../../src/engine/tokenizer';

const folder = process.argv[2];
if (!folder) {
  process.stderr.write('usage: tokenize.ts <tokenizer-folder> < texts.json\n');
  process.exit(2);
}
const tokenizer = WhisperTokenizer.fromFolder(folder);
const texts = JSON.parse(readFileSync(0, 'utf8')) as string[];
const ids = texts.map((text) => {
  const tokens = tokenizer.encode(text);
  // A round trip guards against texts the vocabulary would mangle (the model could never output them).
  const back = tokenizer.decode(tokens);
  if (back !== text)
    throw new Error(`tokenizer round trip changed ${JSON.stringify(text)} to ${JSON.stringify(back)}`);
  return tokens;
});
const result = {
  special: tokenizer.special,
  languages: Object.fromEntries(tokenizer.languages),
  ids,
};
process.stdout.write(JSON.stringify(result));
