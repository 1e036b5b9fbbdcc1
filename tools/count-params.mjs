// Prints the parameter count of every Whisper size the converter knows (what `convert --random` builds),
// computed from the same tensor list the converter writes. Usage: node tools/count-params.mjs
import { createRequire } from 'node:module';
import { register } from 'tsx/cjs/api';

// The sources are CommonJS-flavoured TypeScript: load them through tsx's require hook.
register();
const require = createRequire(import.meta.url);
const { modelSizes } = require('../src/convert/catalog.ts');
const { parameterCount } = require('../src/convert/config.ts');

for (const [size, dims] of Object.entries(modelSizes)) {
  const count = parameterCount(dims);
  const layers = `${dims.encoderLayers}+${dims.decoderLayers}`;
  console.log(
    `${size.padEnd(15)} ${String(count).padStart(13)}  (${(count / 1e6).toFixed(1)}M; d_model ${dims.dModel}, layers ${layers}, heads ${dims.encoderHeads}, mels ${dims.nMels}, vocab ${dims.vocabSize})`,
  );
}
