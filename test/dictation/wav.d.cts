export declare const sampleRate: 16000;
export declare function pcmOf(path: string): Buffer;
export declare function wavFile(pcm: Buffer): Buffer;
