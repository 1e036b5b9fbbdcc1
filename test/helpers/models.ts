import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { convertCheckpoint, manifestFileName, type ModelDtype } from '../../src/convert/convert';

const root = join(__dirname, '..', '..');
export const tinyRandomCheckpoint = join(root, 'test', 'fixtures', 'reference', 'tiny-random');
export const tinyRandomReference = join(tinyRandomCheckpoint, 'reference');
export const testModelCheckpoint = join(root, 'test', 'fixtures', 'test-model', 'checkpoint');
export const testModelHeldout = join(root, 'test', 'fixtures', 'test-model', 'heldout');
const cacheRoot = join(root, '.cache', 'test-models');

export interface TinyRandomOptions {
  readonly timestamped?: boolean;
  readonly dtype?: ModelDtype;
  /** Also write the 4-bit decoder (convert --q4-decoder). */
  readonly q4Decoder?: boolean;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(path) : [path];
  });
}

const keys = new Map<string, string>();

/**
 * Changes whenever the converter's code, the package version or the checkpoint changes. Checkpoint files are
 * hashed by content (a retrained model keeps its size); subfolders (tiny-random's reference outputs) are not
 * part of the checkpoint.
 */
function converterKey(checkpointDir: string): string {
  const known = keys.get(checkpointDir);
  if (known !== undefined) return known;
  const hash = createHash('sha256');
  const sources = [...filesUnder(join(root, 'src', 'convert')), join(root, 'package.json')].sort();
  for (const file of sources) hash.update(relative(root, file)).update(readFileSync(file));
  const checkpointFiles = readdirSync(checkpointDir, { withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => entry.name)
    .sort();
  for (const name of checkpointFiles) hash.update(name).update(readFileSync(join(checkpointDir, name)));
  const key = hash.digest('hex').slice(0, 16);
  keys.set(checkpointDir, key);
  return key;
}

/** Folders of the same variant made by an older converter are never used again. */
function removeStale(variant: string, current: string): void {
  const stale = new RegExp(`^${variant}-[0-9a-f]{16}$`);
  for (const entry of readdirSync(cacheRoot)) {
    if (entry !== current && stale.test(entry))
      rmSync(join(cacheRoot, entry), { recursive: true, force: true });
  }
}

const pending = new Map<string, Promise<string>>();

/**
 * The fixture checkpoint test/fixtures/reference/tiny-random converted by our converter, once per converter
 * version and options, into .cache/test-models; returns the model folder (onnx/ + config and tokenizer
 * files).
 */
export function tinyRandomModel(options: TinyRandomOptions = {}): Promise<string> {
  return convertedCheckpoint(tinyRandomCheckpoint, 'tiny-random', options);
}

/** The small Whisper trained on synthetic speech (tools/test-model), converted as tinyRandomModel is. */
export function testModel(options: TinyRandomOptions = {}): Promise<string> {
  return convertedCheckpoint(testModelCheckpoint, 'test-model', options);
}

/**
 * A Hugging Face checkpoint converted by our converter into .cache/test-models/<name>-<options>-<key>, once
 * per converter version, checkpoint contents and options. Safe for concurrent test processes: each converts
 * into its own temporary folder and renames it into place; a process that loses the race uses the winner's
 * folder.
 */
export function convertedCheckpoint(
  checkpointDir: string,
  name: string,
  options: TinyRandomOptions = {},
): Promise<string> {
  const dtype = options.dtype ?? 'fp32';
  const variant = `${name}-${dtype}${options.timestamped ? '-timestamped' : ''}${options.q4Decoder ? '-q4' : ''}`;
  const folderName = `${variant}-${converterKey(checkpointDir)}`;
  const outDir = join(cacheRoot, folderName);
  let promise = pending.get(outDir);
  if (!promise) {
    promise = (async () => {
      if (existsSync(join(outDir, manifestFileName))) return outDir;
      try {
        await convertCheckpoint({
          checkpointDir,
          outDir,
          dtype,
          timestamped: options.timestamped,
          q4Decoder: options.q4Decoder,
        });
      } catch (error) {
        // Another process finished the same conversion first: its folder is just as good.
        if (!existsSync(join(outDir, manifestFileName))) throw error;
      }
      removeStale(variant, folderName);
      return outDir;
    })();
    pending.set(outDir, promise);
  }
  return promise;
}
