import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { decodeAudioBuffer } from '../../src/engine/audio';
import { isSttError } from '../../src/engine/errors';
import { decodeWav } from '../../src/engine/wav';

type SampleFormat = 'u8' | 's16' | 's24' | 's32' | 'f32' | 'f64';

const FORMATS: Record<SampleFormat, { bytes: number; float: boolean }> = {
  u8: { bytes: 1, float: false },
  s16: { bytes: 2, float: false },
  s24: { bytes: 3, float: false },
  s32: { bytes: 4, float: false },
  f32: { bytes: 4, float: true },
  f64: { bytes: 8, float: true },
};

interface WavSpec {
  format: SampleFormat;
  rateHz: number;
  /** Per channel: integer codes for integer formats (unsigned for u8), values for float formats. */
  channels: number[][];
  extensible?: boolean;
  formatCode?: number;
  /** Chunks written before fmt, and whether data comes before fmt. */
  leadingChunks?: { id: string; body: Uint8Array; unpadded?: boolean }[];
  dataFirst?: boolean;
  dataSizeField?: number;
}

function chunk(id: string, body: Uint8Array, sizeField = body.length, padded = true): Uint8Array {
  const out = new Uint8Array(8 + body.length + (padded ? body.length % 2 : 0));
  out.set(Buffer.from(id, 'ascii'));
  new DataView(out.buffer).setUint32(4, sizeField, true);
  out.set(body, 8);
  return out;
}

/** A WAV file written byte by byte from the spec (the spec's layout, independent of the parser). */
function buildWav(spec: WavSpec): Uint8Array {
  const { bytes, float } = FORMATS[spec.format];
  const channelCount = spec.channels.length;
  const frameCount = spec.channels[0]!.length;
  const blockAlign = bytes * channelCount;
  const fmt = new DataView(new ArrayBuffer(spec.extensible ? 40 : 16));
  const code = spec.formatCode ?? (float ? 3 : 1);
  fmt.setUint16(0, spec.extensible ? 0xfffe : code, true);
  fmt.setUint16(2, channelCount, true);
  fmt.setUint32(4, spec.rateHz, true);
  fmt.setUint32(8, spec.rateHz * blockAlign, true);
  fmt.setUint16(12, blockAlign, true);
  fmt.setUint16(14, bytes * 8, true);
  if (spec.extensible) {
    fmt.setUint16(16, 22, true);
    fmt.setUint16(18, bytes * 8, true);
    fmt.setUint32(20, (1 << channelCount) - 1, true);
    const guid = [0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xaa, 0, 0x38, 0x9b, 0x71];
    fmt.setUint16(24, code, true);
    guid.forEach((byte, i) => fmt.setUint8(26 + i, byte));
  }
  const data = new DataView(new ArrayBuffer(frameCount * blockAlign));
  for (let i = 0; i < frameCount; i++) {
    for (let c = 0; c < channelCount; c++) {
      const at = i * blockAlign + c * bytes;
      const value = spec.channels[c]![i]!;
      if (spec.format === 'u8') data.setUint8(at, value);
      else if (spec.format === 's16') data.setInt16(at, value, true);
      else if (spec.format === 's24') {
        data.setUint8(at, value & 0xff);
        data.setUint8(at + 1, (value >> 8) & 0xff);
        data.setInt8(at + 2, value >> 16);
      } else if (spec.format === 's32') data.setInt32(at, value, true);
      else if (spec.format === 'f32') data.setFloat32(at, value, true);
      else data.setFloat64(at, value, true);
    }
  }
  const fmtChunk = chunk('fmt ', new Uint8Array(fmt.buffer));
  const dataChunk = chunk('data', new Uint8Array(data.buffer), spec.dataSizeField);
  const leading = (spec.leadingChunks ?? []).map((c) => chunk(c.id, c.body, c.body.length, !c.unpadded));
  const body = spec.dataFirst ? [...leading, dataChunk, fmtChunk] : [...leading, fmtChunk, dataChunk];
  const total = 4 + body.reduce((sum, part) => sum + part.length, 0);
  const header = new Uint8Array(12);
  header.set(Buffer.from('RIFF', 'ascii'));
  new DataView(header.buffer).setUint32(4, total, true);
  header.set(Buffer.from('WAVE', 'ascii'), 8);
  return Buffer.concat([header, ...body]);
}

/** Integer codes spanning the full range of a width, extremes included. */
function integerCodes(bits: number, count: number, seed: number): number[] {
  const min = -(2 ** (bits - 1));
  const max = 2 ** (bits - 1) - 1;
  const codes = [min, max, 0, -1, 1];
  let state = seed;
  while (codes.length < count) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    codes.push(min + Math.floor((state / 2 ** 31) * (max - min + 1)));
  }
  return codes;
}

function assertSamples(actual: Float32Array, expected: number[], label: string): void {
  assert.equal(actual.length, expected.length, `${label}: length`);
  for (let i = 0; i < expected.length; i++) {
    assert.equal(actual[i], Math.fround(expected[i]!), `${label}: sample ${i}`);
  }
}

const intCases: { format: SampleFormat; bits: number }[] = [
  { format: 's16', bits: 16 },
  { format: 's24', bits: 24 },
  { format: 's32', bits: 32 },
];

for (const { format, bits } of intCases) {
  for (const extensible of [false, true]) {
    test(`${bits}-bit integer PCM${extensible ? ' (extensible)' : ''}, stereo, decodes to code / 2^${bits - 1}`, () => {
      const channels = [integerCodes(bits, 64, 1), integerCodes(bits, 64, 2)];
      const decoded = decodeWav(buildWav({ format, rateHz: 44100, channels, extensible }), 'synthetic.wav');
      assert.equal(decoded.sampleRateHz, 44100);
      assert.equal(decoded.codec, `wav/pcm_s${bits}`);
      channels.forEach((codes, c) =>
        assertSamples(
          decoded.channels[c]!,
          codes.map((code) => code / 2 ** (bits - 1)),
          `channel ${c}`,
        ),
      );
    });
  }
}

test('8-bit unsigned PCM decodes to (code - 128) / 128', () => {
  const codes = [0, 255, 128, 127, 129, 1, 64, 200];
  const decoded = decodeWav(buildWav({ format: 'u8', rateHz: 8000, channels: [codes] }), 'u8.wav');
  assert.equal(decoded.codec, 'wav/pcm_u8');
  assertSamples(
    decoded.channels[0]!,
    codes.map((code) => (code - 128) / 128),
    'u8',
  );
});

for (const format of ['f32', 'f64'] as const) {
  for (const extensible of [false, true]) {
    test(`${format} float${extensible ? ' (extensible)' : ''} decodes to its values, 48 kHz, 3 channels`, () => {
      const channels = [0, 1, 2].map((c) =>
        Array.from({ length: 50 }, (_, i) => Math.sin(i * 0.37 + c) * 1.2),
      );
      const decoded = decodeWav(buildWav({ format, rateHz: 48000, channels, extensible }), 'float.wav');
      assert.equal(decoded.sampleRateHz, 48000);
      assert.equal(decoded.codec, `wav/pcm_${format}`);
      channels.forEach((values, c) => assertSamples(decoded.channels[c]!, values, `channel ${c}`));
    });
  }
}

test('chunk order, LIST chunks and odd-sized chunks with pad bytes do not matter', () => {
  const codes = integerCodes(16, 101, 3);
  const oddInfo = { id: 'LIST', body: Buffer.from('INFOISFT\x05\x00\x00\x00Lavf\x00', 'latin1') };
  const odd = { id: 'junk', body: new Uint8Array(7) };
  // Some writers omit the pad byte after an odd chunk; the parser has to find the next chunk either way.
  const oddUnpadded = { id: 'bext', body: new Uint8Array(5).fill(0x20), unpadded: true };
  for (const dataFirst of [false, true]) {
    const bytes = buildWav({
      format: 's16',
      rateHz: 16000,
      channels: [codes],
      leadingChunks: [odd, oddUnpadded, oddInfo],
      dataFirst,
    });
    assertSamples(
      decodeWav(bytes, 'odd.wav').channels[0]!,
      codes.map((c) => c / 32768),
      `dataFirst=${dataFirst}`,
    );
  }
});

test('a data size of 0 or 0xFFFFFFFF (streaming recorders) means the rest of the file', () => {
  const codes = integerCodes(16, 33, 4);
  for (const dataSizeField of [0, 0xffffffff]) {
    const bytes = buildWav({ format: 's16', rateHz: 16000, channels: [codes], dataSizeField });
    assertSamples(
      decodeWav(bytes, 'stream.wav').channels[0]!,
      codes.map((c) => c / 32768),
      `size ${dataSizeField}`,
    );
  }
});

async function rejection(bytes: Uint8Array, name: string): Promise<string> {
  try {
    await decodeAudioBuffer(bytes, name);
  } catch (error) {
    assert.ok(isSttError(error), `expected an SttError, got ${String(error)}`);
    assert.equal(error.kind, 'input');
    assert.ok(error.message.includes(name), `the message names the file: ${error.message}`);
    return error.message;
  }
  assert.fail(`${name} decoded without an error`);
}

test('corrupt, truncated and unsupported WAVs are input errors naming the file and the problem', async () => {
  const valid = buildWav({ format: 's16', rateHz: 16000, channels: [integerCodes(16, 100, 5)] });
  assert.match(await rejection(valid.subarray(0, 30), 'short-header.wav'), /fmt chunk is truncated/);
  assert.match(await rejection(valid.subarray(0, 36), 'no-data.wav'), /no data chunk/);
  assert.match(
    await rejection(valid.subarray(0, 100), 'cut.wav'),
    /truncated: the data chunk declares 200 bytes/,
  );
  const alaw = buildWav({ format: 'u8', rateHz: 8000, channels: [[1, 2, 3]], formatCode: 6 });
  assert.match(await rejection(alaw, 'alaw.wav'), /unsupported WAV format code 0x0006 \(A-law\)/);
  const adpcmExtensible = buildWav({
    format: 's16',
    rateHz: 8000,
    channels: [[1]],
    extensible: true,
    formatCode: 2,
  });
  assert.match(await rejection(adpcmExtensible, 'adpcm.wav'), /0x0002/);
});

test('NaN and infinite float samples are rejected', async () => {
  for (const bad of [NaN, Infinity, -Infinity]) {
    const bytes = buildWav({ format: 'f32', rateHz: 16000, channels: [[0, 0.5, bad, 0]] });
    assert.match(await rejection(bytes, 'nan.wav'), /sample 2 of channel 0/);
  }
});
