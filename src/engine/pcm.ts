/** What every decoder returns, and the channel handling shared by all of them. */

import { SttError } from './errors';

/** Decoded audio at its own rate: one Float32Array per channel, all the same length, nominally in [-1, 1]. */
export interface DecodedAudio {
  channels: Float32Array[];
  sampleRateHz: number;
  /** Container and sample format, e.g. 'wav/pcm_s16', 'flac/24'. */
  codec: string;
}

/** Which channel to transcribe: an index, or the mean of all channels. */
export type ChannelSelection = number | 'mix';

/** Mean of the channels (or one of them), as a new array only when the result differs from the input. */
export function selectChannel(
  channels: readonly Float32Array[],
  selection: ChannelSelection,
  name: string,
): Float32Array {
  if (channels.length === 0) throw new SttError('input', `${name}: the audio has no channels`);
  if (selection !== 'mix') {
    const chosen = channels[selection];
    if (!Number.isInteger(selection) || !chosen) {
      throw new SttError(
        'input',
        `${name}: channel ${selection} does not exist (the audio has ${channels.length}, numbered from 0)`,
      );
    }
    return chosen;
  }
  if (channels.length === 1) return channels[0]!;
  const length = channels[0]!.length;
  const mono = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    let sum = 0;
    for (const channel of channels) sum += channel[i]!;
    mono[i] = sum / channels.length;
  }
  return mono;
}

/**
 * NaN or infinite samples (possible only in float files) would poison every later step silently.
 * `firstSample`: where the audio starts in its file, when it is one slice of it.
 */
export function assertFinite(audio: DecodedAudio, name: string, firstSample = 0): void {
  for (const [index, channel] of audio.channels.entries()) {
    for (let i = 0; i < channel.length; i++) {
      if (!Number.isFinite(channel[i]!)) {
        const sample = firstSample + i;
        const seconds = (sample / audio.sampleRateHz).toFixed(3);
        throw new SttError(
          'input',
          `${name}: sample ${sample} of channel ${index} (at ${seconds} s) is ${channel[i]}`,
        );
      }
    }
  }
}
