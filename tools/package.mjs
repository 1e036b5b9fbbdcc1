// Builds production bundles and packages the extension as a .vsix, offline, with the native ONNX Runtime
// addon inside. By default the package targets this machine's platform and carries only its ORT binaries
// (all platforms together are about 290 MB, linux-x64 alone 45 MB).
// Usage: node tools/package.mjs [--target <vsce target>] [--universal] [--out <file.vsix>] [--skip-build]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const root = resolve(import.meta.dirname, '..');
const ortBinaries = 'node_modules/onnxruntime-node/bin';

/** vsce targets onnxruntime-node 1.30 ships binaries for, and where they lie under bin/napi-v6. */
const ortFolderByTarget = {
  'linux-x64': 'linux/x64',
  'linux-arm64': 'linux/arm64',
  'win32-x64': 'win32/x64',
  'win32-arm64': 'win32/arm64',
  'darwin-arm64': 'darwin/arm64',
};

const { values: options } = parseArgs({
  options: {
    target: { type: 'string', default: `${process.platform}-${process.arch}` },
    universal: { type: 'boolean', default: false },
    out: { type: 'string' },
    'skip-build': { type: 'boolean', default: false },
  },
});

function run(command, args) {
  console.log(`> ${[command, ...args].join(' ')}`);
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`package: ${command} failed (${result.error?.message ?? `exit ${result.status}`})`);
    process.exit(1);
  }
}

/**
 * vsce keeps a file when any `!` pattern matches it, whatever the order, so appending excludes after
 * `.vscodeignore`'s `!node_modules/onnxruntime-node/bin/**` would not drop anything: the broad negation is
 * replaced by one for the target's own folder instead.
 */
function ignoreFileFor(ortFolder) {
  const lines = readFileSync(join(root, '.vscodeignore'), 'utf8').split('\n');
  const broad = `!${ortBinaries}/**`;
  if (!lines.some((line) => line.trim() === broad)) {
    throw new Error(`.vscodeignore no longer has the line ${broad}; update tools/package.mjs to match`);
  }
  const narrowed = lines.map((line) =>
    line.trim() === broad ? `!${ortBinaries}/napi-v6/${ortFolder}/**` : line,
  );
  const dir = mkdtempSync(join(tmpdir(), 'quantum-stt-package-'));
  const path = join(dir, 'vscodeignore');
  writeFileSync(path, narrowed.join('\n'));
  return { path, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

const ortFolder = options.universal ? undefined : ortFolderByTarget[options.target];
if (!options.universal && ortFolder === undefined) {
  console.error(
    `package: onnxruntime-node has no binaries for target ${options.target}; ` +
      `choose one of ${Object.keys(ortFolderByTarget).join(', ')} or --universal`,
  );
  process.exit(2);
}
// One stable name whatever the target, so that scripts and tests can find the package without knowing it.
const out = resolve(options.out ?? join('dist', 'quantum-stt.vsix'));

if (!options['skip-build']) run(process.execPath, ['esbuild.mjs', '--production']);

// The manifest's repository URL is a placeholder, so vsce could only rewrite the README's relative links into
// broken absolute ones; it refuses to package at all unless told to leave them as they are.
const vsce = [
  join(root, 'node_modules/@vscode/vsce/vsce'),
  'package',
  '--no-yarn',
  '--no-rewrite-relative-links',
  '--out',
  out,
];
if (ortFolder === undefined) {
  run(process.execPath, vsce);
} else {
  const ignore = ignoreFileFor(ortFolder);
  try {
    run(process.execPath, [...vsce, '--target', options.target, '--ignoreFile', ignore.path]);
  } finally {
    ignore.cleanup();
  }
}
console.log(`package: ${relative(process.cwd(), out)} (${(statSync(out).size / 2 ** 20).toFixed(1)} MiB)`);
