import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { convertCheckpoint, manifestFileName, type ModelDtype } from '../../src/convert/convert';

const root = join(__dirname, '..', '..');
export const tinyRandomCheckpoint = join(root, 'test', 'fixtures', 'reference', 'tiny-random');
export const tinyRandomReference = join(tinyRandomCheckpoint, 'reference');
const cacheRoot = join(root, '.cache', 'test-models');

export interface TinyRandomOptions {
  readonly timestamped?: boolean;
  readonly dtype?: ModelDtype;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(path) : [path];
  });
}

/** Changes whenever the converter's code, the package version or the fixture checkpoint changes. */
function converterKey(): string {
  const hash = createHash('sha256');
  const sources = [...filesUnder(join(root, 'src', 'convert')), join(root, 'package.json')].sort();
  for (const file of sources) hash.update(relative(root, file)).update(readFileSync(file));
  for (const file of filesUnder(tinyRandomCheckpoint)
    .filter((f) => !f.includes(`${join('tiny-random', 'reference')}`))
    .sort()) {
    hash.update(relative(root, file)).update(String(statSync(file).size));
  }
  return hash.digest('hex').slice(0, 16);
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
 * files). Safe for concurrent test processes: each converts into its own temporary folder and renames it
 * into place; a process that loses the race uses the winner's folder.
 */
export function tinyRandomModel(options: TinyRandomOptions = {}): Promise<string> {
  const dtype = options.dtype ?? 'fp32';
  const variant = `tiny-random-${dtype}${options.timestamped ? '-timestamped' : ''}`;
  const name = `${variant}-${converterKey()}`;
  const outDir = join(cacheRoot, name);
  let promise = pending.get(outDir);
  if (!promise) {
    promise = (async () => {
      if (existsSync(join(outDir, manifestFileName))) return outDir;
      try {
        await convertCheckpoint({
          checkpointDir: tinyRandomCheckpoint,
          outDir,
          dtype,
          timestamped: options.timestamped,
        });
      } catch (error) {
        // Another process finished the same conversion first: its folder is just as good.
        if (!existsSync(join(outDir, manifestFileName))) throw error;
      }
      removeStale(variant, name);
      return outDir;
    })();
    pending.set(outDir, promise);
  }
  return promise;
}
