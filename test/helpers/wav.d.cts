export declare const sampleRate: 16000;
export declare function pcmOf(path: string): Buffer;
export declare function wavFile(
  data: Buffer,
  format?: { rateHz?: number; channels?: number; bitsPerSample?: number; float?: boolean },
): Buffer;
