/** The part of node-record-lpcm16 (no types of its own) that capture uses. */
declare module 'node-record-lpcm16' {
  import type { ChildProcess } from 'node:child_process';
  import type { Readable } from 'node:stream';

  export interface RecordOptions {
    sampleRate?: number;
    channels?: number;
    /** `sox`, `rec` or `arecord`: the program and its arguments come from the library. */
    recorder?: string;
    /** `raw` for headerless PCM. */
    audioType?: string;
    /** arecord: `-D device`; sox: the AUDIODEV environment variable; rec: ignored. */
    device?: string;
  }

  export interface Recording {
    readonly process: ChildProcess;
    readonly cmd: string;
    readonly args: readonly string[];
    stream(): Readable;
    stop(): void;
  }

  export function record(options?: RecordOptions): Recording;
}
