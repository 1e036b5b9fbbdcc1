/**
 * The one file of dictation that starts a process: the recorder program (sox, rec or arecord) through
 * node-record-lpcm16, capturing 16 kHz mono signed 16-bit PCM from the microphone to its stdout.
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { record } from 'node-record-lpcm16';
import { SttError } from '../engine/errors';
import { CAPTURE_SAMPLE_RATE, S16leDecoder } from './pcm';

export type RecorderProgram = 'sox' | 'rec' | 'arecord';

export interface RecorderSettings {
  /** `auto`: `rec` or else `arecord` on Linux, `sox` elsewhere. */
  readonly program: RecorderProgram | 'auto';
  /** Empty: the system's default input. */
  readonly device: string;
}

export interface RecorderHandlers {
  readonly onSamples: (samples: Float32Array) => void;
  /** The recorder stopped without being asked to (or never started); not called after `stop()`. */
  readonly onFailure: (error: SttError) => void;
}

export interface Recorder {
  readonly program: RecorderProgram;
  stop(): void;
}

/** How much of the recorder's complaint goes into the message: the end says why. */
const stderrTailChars = 400;

export function startRecorder(settings: RecorderSettings, handlers: RecorderHandlers): Recorder {
  const program = pickProgram(settings.program);
  const recording = record({
    sampleRate: CAPTURE_SAMPLE_RATE,
    channels: 1,
    audioType: 'raw',
    recorder: program,
    device: settings.device || undefined,
  });
  const child = recording.process;
  const decoder = new S16leDecoder();
  let stopped = false;
  let stderr = '';
  const fail = (error: SttError) => {
    if (stopped) return;
    stopped = true;
    child.kill();
    handlers.onFailure(error);
  };
  child.stderr!.setEncoding('utf8').on('data', (text: string) => {
    stderr = (stderr + text).slice(-stderrTailChars);
  });
  recording.stream().on('data', (chunk: Buffer) => {
    if (!stopped) handlers.onSamples(decoder.decode(chunk));
  });
  // The library reports a failed exit as a string 'error' on the stream; the 'close' below says it better.
  recording.stream().on('error', () => undefined);
  child.on('error', (error) => fail(new SttError('input', `could not start ${program}: ${error.message}`)));
  child.on('close', (code, signal) => {
    const how = signal ? `was stopped by ${signal}` : `exited with code ${code}`;
    const said = stderr.trim() === '' ? '' : `: ${stderr.trim()}`;
    fail(
      new SttError(
        'input',
        `the recorder ${program} ${how} while dictating${said}. Is the microphone in use by another program, ` +
          'or does the quantumStt.dictation.device setting name an input that exists?',
      ),
    );
  });
  return {
    program,
    stop: () => {
      if (stopped) return;
      stopped = true;
      child.kill();
    },
  };
}

function pickProgram(wanted: RecorderSettings['program']): RecorderProgram {
  const candidates: readonly RecorderProgram[] =
    wanted !== 'auto' ? [wanted] : process.platform === 'linux' ? ['rec', 'arecord'] : ['sox'];
  const found = candidates.find((program) => onPath(program));
  if (found) return found;
  throw new SttError(
    'input',
    `dictation needs the ${candidates.join(' or ')} program to record from the microphone, and it is not on ` +
      `the PATH. Install it: ${installCommand(process.platform, linuxDistribution(), candidates[0]!)}`,
  );
}

function onPath(program: string): boolean {
  const extensions = process.platform === 'win32' ? (process.env.PATHEXT ?? '.EXE').split(';') : [''];
  return (process.env.PATH ?? '').split(delimiter).some(
    (dir) =>
      dir !== '' &&
      extensions.some((extension) => {
        try {
          accessSync(join(dir, program + extension), constants.X_OK);
          return true;
        } catch {
          return false;
        }
      }),
  );
}

/** ID and ID_LIKE of /etc/os-release, e.g. `ubuntu debian`; empty where there is none. */
function linuxDistribution(): string {
  try {
    const text = readFileSync('/etc/os-release', 'utf8');
    return [...text.matchAll(/^ID(?:_LIKE)?="?([^"\n]*)"?$/gm)].map((match) => match[1]).join(' ');
  } catch {
    return '';
  }
}

/** The command that installs the recorder on this system; both common ones where the distribution is unknown. */
export function installCommand(
  platform: NodeJS.Platform,
  distribution: string,
  program: RecorderProgram,
): string {
  if (platform === 'darwin') return '`brew install sox`';
  if (platform === 'win32') return '`choco install sox.portable` (then make sure sox is on the PATH)';
  // rec is part of the sox package; arecord of alsa-utils.
  const pkg = program === 'arecord' ? 'alsa-utils' : 'sox';
  const managers: readonly [RegExp, string][] = [
    [/debian|ubuntu/, `sudo apt install ${pkg}`],
    [/fedora|rhel|centos/, `sudo dnf install ${pkg}`],
    [/arch/, `sudo pacman -S ${pkg}`],
    [/suse/, `sudo zypper install ${pkg}`],
  ];
  const known = managers.find(([pattern]) => pattern.test(distribution));
  return known ? `\`${known[1]}\`` : `\`sudo apt install ${pkg}\` or \`sudo dnf install ${pkg}\``;
}
