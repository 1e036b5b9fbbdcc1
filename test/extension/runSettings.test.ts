import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { engineDefaults, resolveRunOptions } from '../../src/engine/options';
import { SttError } from '../../src/engine/errors';
import { runOptionsFromSettings, type SettingValue } from '../../src/extension/runSettings';

const manifest = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
  contributes: { configuration: { properties: Record<string, { default?: unknown }> } };
};
const properties = manifest.contributes.configuration.properties;

/** What VS Code's getter returns with nothing set by the user: package.json's defaults. */
const defaults: SettingValue = (key) => properties[`quantumStt.${key}`]?.default;
const withSettings =
  (values: Record<string, unknown>): SettingValue =>
  (key) =>
    key in values ? values[key] : defaults(key);

test('the settings defaults in package.json are the engine defaults', () => {
  const mapped = runOptionsFromSettings(defaults);
  const engine = engineDefaults().run;
  for (const [key, value] of Object.entries(mapped)) {
    assert.deepEqual(value, engine[key as keyof typeof engine], `quantumStt.${key}`);
  }
  assert.deepEqual(resolveRunOptions(mapped), engine);
});

test('every run option the settings control has a described setting in package.json', () => {
  const keys = Object.keys(runOptionsFromSettings(defaults));
  for (const key of keys) {
    const property = properties[`quantumStt.${key}`] as { markdownDescription?: string } | undefined;
    assert.ok(property, `quantumStt.${key} is missing from contributes.configuration`);
    assert.ok((property.markdownDescription ?? '').length > 20, `quantumStt.${key} has no description`);
  }
});

test('user values reach the run options', () => {
  const mapped = runOptionsFromSettings(
    withSettings({
      language: ' de ',
      timestamps: 'word',
      initialPrompt: '  Kubernetes, gRPC ',
      conditionOnPreviousText: false,
      noSpeechThreshold: null,
      logprobThreshold: -0.5,
      compressionRatioThreshold: 2,
      temperatures: [0, 0.5],
      beams: 5,
      patience: 2,
      bestOf: 3,
      longForm: 'chunked',
      chunkLengthSec: 20,
      strideSec: 3,
      batchSize: 4,
    }),
  );
  assert.deepEqual(mapped, {
    language: 'de',
    task: 'transcribe',
    timestamps: 'word',
    initialPrompt: 'Kubernetes, gRPC',
    conditionOnPreviousText: false,
    noSpeechThreshold: null,
    logprobThreshold: -0.5,
    compressionRatioThreshold: 2,
    temperatures: [0, 0.5],
    beams: 5,
    patience: 2,
    bestOf: 3,
    longForm: 'chunked',
    chunkLengthSec: 20,
    strideSec: 3,
    batchSize: 4,
  });
});

test('a setting of the wrong type leaves the engine default; empty texts mean none', () => {
  const mapped = runOptionsFromSettings(
    withSettings({
      language: '',
      initialPrompt: '   ',
      timestamps: 'words',
      temperatures: [0, '0.2'],
      beams: '5',
      conditionOnPreviousText: 'no',
      noSpeechThreshold: '0.5',
      longForm: 'fast',
      strideSec: null,
    }),
  );
  assert.equal(mapped.language, 'auto');
  assert.equal(mapped.initialPrompt, undefined);
  for (const key of ['timestamps', 'temperatures', 'beams', 'conditionOnPreviousText', 'noSpeechThreshold']) {
    assert.equal(mapped[key as keyof typeof mapped], undefined, key);
  }
  assert.equal(mapped.longForm, undefined);
  // null is the setting's "engine's choice", undefined the engine's spelling of it.
  assert.equal(mapped.strideSec, undefined);
  assert.deepEqual(resolveRunOptions(mapped), engineDefaults().run);
});

test('a value of the right type but out of range reaches the engine, which names the option', () => {
  const mapped = runOptionsFromSettings(withSettings({ beams: 0 }));
  assert.throws(
    () => resolveRunOptions(mapped),
    (error: unknown) => {
      assert.ok(error instanceof SttError && error.kind === 'usage');
      assert.match(error.message, /beams/);
      return true;
    },
  );
});
