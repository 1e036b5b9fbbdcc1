// WAV files for tests and tools. pcmOf reads 16 kHz mono signed 16-bit PCM, the only kind fake-rec plays (fake-rec
// and the e2e dictation step); wavFile writes any PCM or float layout. CommonJS so that fake-rec, a plain
// script, loads it.
'use strict';
// eslint-disable-next-line @typescript-eslint/no-require-imports -- CommonJS: fake-rec is a plain script
const { readFileSync } = require('node:fs');

const sampleRate = 16000;

/** The PCM bytes of a WAV file, which must be 16 kHz mono 16-bit. */
function pcmOf(path) {
  const bytes = readFileSync(path);
  if (bytes.toString('ascii', 0, 4) !== 'RIFF' || bytes.toString('ascii', 8, 12) !== 'WAVE') {
    throw new Error(`${path} is not a WAV file`);
  }
  let format;
  for (let at = 12; at + 8 <= bytes.length;) {
    const id = bytes.toString('ascii', at, at + 4);
    const size = bytes.readUInt32LE(at + 4);
    if (id === 'fmt ') {
      format = {
        tag: bytes.readUInt16LE(at + 8),
        channels: bytes.readUInt16LE(at + 10),
        rate: bytes.readUInt32LE(at + 12),
        bits: bytes.readUInt16LE(at + 22),
      };
    }
    if (id === 'data') {
      if (
        !format ||
        format.tag !== 1 ||
        format.channels !== 1 ||
        format.rate !== sampleRate ||
        format.bits !== 16
      ) {
        throw new Error(`${path}: 16 kHz mono 16-bit PCM only, not ${JSON.stringify(format)}`);
      }
      return bytes.subarray(at + 8, at + 8 + size);
    }
    at += 8 + size + (size % 2);
  }
  throw new Error(`${path} has no data chunk`);
}

/**
 * A WAV file around `data` (interleaved samples): 16 kHz mono signed 16-bit PCM unless told otherwise;
 * `float: true` marks 32-bit IEEE float samples.
 */
function wavFile(data, { rateHz = sampleRate, channels = 1, bitsPerSample = 16, float = false } = {}) {
  const bytesPerFrame = channels * (bitsPerSample / 8);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVEfmt ', 8);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(float ? 3 : 1, 20);
  header.writeUInt16LE(channels, 22);
  header.writeUInt32LE(rateHz, 24);
  header.writeUInt32LE(rateHz * bytesPerFrame, 28);
  header.writeUInt16LE(bytesPerFrame, 32);
  header.writeUInt16LE(bitsPerSample, 34);
  header.write('data', 36);
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}

module.exports = { sampleRate, pcmOf, wavFile };
