import { Command, InvalidArgumentError, Option } from 'commander';
import { basename } from 'node:path';
import type { ChannelSelection } from '../engine/audio';
import type { AudioSource } from '../engine/audioSource';
import { isSttError, SttError } from '../engine/errors';
import {
  loadModel,
  type EngineLogger,
  type ExecutionProvider,
  type LoadOptions,
  type ModelDtype,
  type RunOptions,
  type Segment,
  type Transcript,
  type TranscribeProgress,
} from '../engine/index';
import { collectMediaFiles, openMedia } from '../engine/media';
import { segmentLine } from '../transcript/formats';
import { writeTranscriptFiles } from '../transcript/writeFiles';
import { describeFailure } from './errors';

const cliFormats = ['json', 'txt', 'srt', 'vtt'] as const;

interface TranscribeFlags {
  readonly model?: string;
  readonly language: string;
  readonly task: RunOptions['task'];
  readonly timestamps: RunOptions['timestamps'];
  readonly format: (typeof cliFormats)[number][];
  readonly channel: ChannelSelection;
  readonly ffmpeg?: string;
  readonly outDir?: string;
  readonly overwrite?: boolean;
  readonly initialPrompt?: string;
  readonly temperature?: number[];
  readonly compressionRatioThreshold?: number;
  readonly logprobThreshold?: number;
  /**
   * --no-speech-threshold: commander reads any --no-X as the negation of --X, so the value lands here, and
   * `true` (the negation's default) when the flag is absent.
   */
  readonly speechThreshold: number | true;
  readonly conditionOnPreviousText: boolean;
  readonly beams?: number;
  readonly bestOf?: number;
  readonly patience?: number;
  readonly lengthPenalty?: number;
  readonly seed?: number;
  readonly clipTimestamps?: number[];
  readonly maxNewTokens?: number;
  readonly longForm: RunOptions['longForm'];
  readonly chunkLength?: number;
  readonly stride?: number;
  readonly batchSize?: number;
  readonly dtype?: string;
  readonly encoderDtype?: string;
  readonly decoderDtype?: string;
  readonly provider?: string;
  readonly verbose?: boolean;
  /** Commander's `--no-print-segments`: true unless given. */
  readonly printSegments: boolean;
}

/**
 * Each segment on stdout as soon as it is final, prefixed by its file's name when there are several. On a terminal
 * the progress bar's line (stderr) is cleared first; the bar is redrawn below at its next update.
 */
function segmentPrinter(label: string | undefined): (segment: Segment) => void {
  return (segment) => {
    if (process.stderr.isTTY === true && process.stdout.isTTY === true) process.stderr.write('\r\x1b[K');
    process.stdout.write(`${label === undefined ? '' : `${label}: `}${segmentLine(segment)}\n`);
  };
}

/**
 * Progress on stderr: a bar redrawn in place on a terminal, one line per tenth otherwise (logs and pipes
 * should not fill up with carriage returns).
 */
function progressReporter(fileName: string): { update(progress: TranscribeProgress): void; done(): void } {
  const interactive = process.stderr.isTTY === true;
  let printedTenths = -1;
  let totalSeconds = 0;
  return {
    update({ processedSec, totalSec }) {
      totalSeconds = totalSec;
      const fraction = totalSec > 0 ? Math.min(1, processedSec / totalSec) : 1;
      const times = `${processedSec.toFixed(1)}/${totalSec.toFixed(1)} s`;
      if (interactive) {
        const width = 30;
        const filled = Math.round(fraction * width);
        const bar = `${'#'.repeat(filled)}${'-'.repeat(width - filled)}`;
        process.stderr.write(`\r${fileName} [${bar}] ${Math.round(fraction * 100)}% ${times}`);
        return;
      }
      const tenths = Math.floor(fraction * 10);
      if (tenths <= printedTenths) return;
      printedTenths = tenths;
      process.stderr.write(`${fileName}: ${tenths * 10}% (${times})\n`);
    },
    done() {
      if (interactive) process.stderr.write('\n');
      // The last update can fall short of the end (the last window's timestamps end inside it).
      else if (printedTenths < 10) {
        process.stderr.write(`${fileName}: 100% (${totalSeconds.toFixed(1)}/${totalSeconds.toFixed(1)} s)\n`);
      }
    },
  };
}

function loadOptionsOf(flags: TranscribeFlags, logger: EngineLogger): Partial<LoadOptions> {
  // Validity is the engine's to judge (resolveLoadOptions), so the CLI and the extension say the same.
  const both = flags.dtype as ModelDtype | undefined;
  const encoder = (flags.encoderDtype ?? both) as ModelDtype | undefined;
  const decoder = (flags.decoderDtype ?? both) as ModelDtype | undefined;
  return {
    logger,
    ...(encoder === undefined && decoder === undefined
      ? {}
      : { dtype: { encoder: encoder ?? 'fp32', decoder: decoder ?? 'fp32' } }),
    ...(flags.provider === undefined
      ? {}
      : { executionProviders: flags.provider.split(',').map((name) => name.trim() as ExecutionProvider) }),
  };
}

async function runTranscribe(paths: readonly string[], flags: TranscribeFlags): Promise<void> {
  if (flags.model === undefined) throw new SttError('usage', 'transcribe needs --model <dir>');
  const { files: mediaFiles, skipped } = await collectMediaFiles(paths);
  if (flags.verbose) for (const path of skipped) process.stderr.write(`skipped ${path}: not a media file\n`);
  if (mediaFiles.length === 0) throw new SttError('usage', `no media files in ${paths.join(', ')}`);
  const logger: EngineLogger = {
    info: (message) => {
      if (flags.verbose) process.stderr.write(`${message}\n`);
    },
    warn: (message) => {
      if (flags.verbose) process.stderr.write(`warning: ${message}\n`);
    },
  };
  const model = await loadModel(flags.model, loadOptionsOf(flags, logger));
  try {
    const runOptions: Partial<RunOptions> = {
      language: flags.language,
      task: flags.task,
      timestamps: flags.timestamps,
      initialPrompt: flags.initialPrompt,
      temperatures: flags.temperature,
      compressionRatioThreshold: flags.compressionRatioThreshold,
      logprobThreshold: flags.logprobThreshold,
      noSpeechThreshold: flags.speechThreshold === true ? undefined : flags.speechThreshold,
      conditionOnPreviousText: flags.conditionOnPreviousText,
      beams: flags.beams,
      bestOf: flags.bestOf,
      patience: flags.patience,
      lengthPenalty: flags.lengthPenalty,
      seed: flags.seed,
      clipTimestamps: flags.clipTimestamps,
      maxNewTokens: flags.maxNewTokens,
      longForm: flags.longForm,
      chunkLengthSec: flags.chunkLength,
      strideSec: flags.stride,
      batchSize: flags.batchSize,
    };
    const write = async (file: string, transcript: Transcript) => {
      const written = await writeTranscriptFiles(transcript, {
        mediaPath: file,
        formats: flags.format,
        outDir: flags.outDir,
        overwrite: flags.overwrite ?? false,
      });
      for (const path of written) process.stderr.write(`wrote ${path}\n`);
    };
    // One file failing is reported and the batch goes on; only a cancel stops it.
    const failures: unknown[] = [];
    const attempt = async (work: () => Promise<void>) => {
      try {
        await work();
      } catch (error) {
        if (mediaFiles.length === 1 || (isSttError(error) && error.kind === 'cancelled')) throw error;
        failures.push(error);
        process.stderr.write(`${describeFailure(error).message}\n`);
      }
    };
    // Streamed, not decoded whole: a 2-hour file would otherwise hold 460 MB of samples.
    const open = (file: string) => openMedia(file, { channel: flags.channel, ffmpegPath: flags.ffmpeg });
    if (flags.longForm === 'chunked' && mediaFiles.length > 1) {
      // All files' chunks share batches: decode them in one run.
      const opened: { file: string; source: AudioSource }[] = [];
      for (const file of mediaFiles) {
        await attempt(async () => {
          opened.push({ file, source: await open(file) });
        });
      }
      const progress = opened.map(({ file }) => progressReporter(basename(file)));
      const printers = opened.map(({ file }) => segmentPrinter(basename(file)));
      const transcripts = await model.transcribeMany(
        opened.map(({ source }) => source),
        runOptions,
        {
          onProgress: (input, update) => progress[input]!.update(update),
          ...(flags.printSegments ? { onSegment: (input, segment) => printers[input]!(segment) } : {}),
        },
      );
      progress.forEach((reporter) => reporter.done());
      for (const [index, { file }] of opened.entries()) await attempt(() => write(file, transcripts[index]!));
    } else {
      for (const file of mediaFiles) {
        await attempt(async () => {
          const source = await open(file);
          const progress = progressReporter(basename(file));
          const label = mediaFiles.length > 1 ? basename(file) : undefined;
          const transcript = await model.transcribe(source, runOptions, {
            onProgress: progress.update,
            ...(flags.printSegments ? { onSegment: segmentPrinter(label) } : {}),
          });
          progress.done();
          await write(file, transcript);
        });
      }
    }
    if (failures.length > 0) {
      throw new SttError('input', `${failures.length} of ${mediaFiles.length} files failed (see above)`);
    }
    const timings = model.timings();
    if (timings.encoderRuns > 0) {
      logger.info(
        `${model.provider}: encoder ${(timings.encoderMs / timings.encoderRuns).toFixed(0)} ms per window, ` +
          `decoder ${(timings.decoderMs / Math.max(1, timings.decoderSteps)).toFixed(1)} ms per step`,
      );
    }
  } finally {
    await model.dispose();
  }
}

function parseFormats(value: string): (typeof cliFormats)[number][] {
  const formats = value.split(',').map((format) => format.trim());
  const unknown = formats.filter((format) => !(cliFormats as readonly string[]).includes(format));
  if (unknown.length > 0 || formats.length === 0) {
    throw new InvalidArgumentError(`Allowed formats are ${cliFormats.join(', ')}.`);
  }
  return [...new Set(formats)] as (typeof cliFormats)[number][];
}

function parseChannel(value: string): ChannelSelection {
  if (value === 'mix') return 'mix';
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('Use mix or a channel number from 0.');
  return Number(value);
}

/** Numbers only; their ranges are checked with every other option in the engine's resolveRunOptions. */
function parseNumber(value: string): number {
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number)) throw new InvalidArgumentError('Use a number.');
  return number;
}

function parseNumberList(value: string): number[] {
  return value.split(',').map(parseNumber);
}

export function addTranscribeCommand(program: Command): void {
  program
    .command('transcribe')
    .description('Transcribe or translate audio and video files')
    .argument('<files...>', 'media files or folders (searched recursively for media files)')
    .option('--model <dir>', 'Whisper ONNX model folder')
    .option('--language <code>', 'language code (en, de, …) or auto to detect it', 'auto')
    .addOption(
      new Option('--task <task>', 'transcribe, or translate to English')
        .choices(['transcribe', 'translate'])
        .default('transcribe'),
    )
    .addOption(
      new Option(
        '--timestamps <mode>',
        'segment: timed segments; word: also timed words (needs a --timestamped model); none: text only',
      )
        .choices(['none', 'segment', 'word'])
        .default('segment'),
    )
    .option('--format <list>', `output formats, comma-separated (${cliFormats.join(', ')})`, parseFormats, [
      cliFormats[0],
    ])
    .option(
      '--channel <mix|N>',
      'mix: the mean of all channels; N: channel N alone, from 0',
      parseChannel,
      'mix',
    )
    .option('--ffmpeg <path>', 'ffmpeg executable (or its folder) for formats the built-in decoders lack')
    .option('--out-dir <dir>', "output folder (default: each file's folder)")
    .option('--overwrite', 'replace existing output files')
    .option('--prompt, --initial-prompt <text>', 'text to condition the first window on (names, spellings)')
    .option(
      '--temperature <list>',
      'temperatures tried in turn per window (default 0,0.2,0.4,0.6,0.8,1)',
      parseNumberList,
    )
    .option(
      '--compression-ratio-threshold <n>',
      'retry a window whose text compresses better (default 2.4)',
      parseNumber,
    )
    .option(
      '--logprob-threshold <n>',
      'retry a window with a lower average log-probability (default -1)',
      parseNumber,
    )
    .option(
      '--no-speech-threshold <n>',
      'skip a window more likely silence than this (default 0.6)',
      parseNumber,
    )
    .option('--condition-on-previous-text', 'prompt each window with the text before it (default)', true)
    .option('--no-condition-on-previous-text', 'decode each window without the text before it')
    .option('--beams <n>', 'beam search width at temperature 0 (default 1: greedy)', parseNumber)
    .option(
      '--best-of <n>',
      'samples per window above temperature 0, the most likely kept (default 1)',
      parseNumber,
    )
    .option('--patience <n>', 'beam search: collect round(beams × patience) finished candidates', parseNumber)
    .option(
      '--length-penalty <n>',
      'rank candidates by logprob / ((5 + length) / 6) ** n (default: / length)',
      parseNumber,
    )
    .option(
      '--seed <n>',
      'seed of the sampling generator (default 0): the same seed repeats a run',
      parseNumber,
    )
    .option(
      '--clip-timestamps <list>',
      'seconds start,end,start,end,… to transcribe (odd count: to the end)',
      parseNumberList,
    )
    .option('--max-new-tokens <n>', 'most tokens per window (default 224)', parseNumber)
    .addOption(
      new Option(
        '--long-form <algorithm>',
        "sequential: OpenAI's seek loop (accuracy first); chunked: overlapping chunks in batches (speed first)",
      )
        .choices(['sequential', 'chunked'])
        .default('sequential'),
    )
    .option('--chunk-length <sec>', 'chunked: seconds per chunk, at most 30 (default 30)', parseNumber)
    .option(
      '--stride <sec>',
      'chunked: seconds of overlap on each side (default chunk length / 6)',
      parseNumber,
    )
    .option('--batch-size <n>', 'chunked: chunks decoded together, across files too (default 1)', parseNumber)
    .option('--dtype <dtype>', 'weight format of both parts (fp32, fp16, q8, int8, uint8, q4, q4f16, bnb4)')
    .option('--encoder-dtype <dtype>', 'weight format of the encoder')
    .option('--decoder-dtype <dtype>', 'weight format of the decoder')
    .option(
      '--provider <list>',
      'execution providers to try in order, e.g. cuda,cpu (default: webgpu,cuda,dml,coreml,cpu)',
    )
    .option('--verbose', 'log the execution provider, fallbacks and timings')
    .option('--no-print-segments', 'do not print each segment on stdout as it is transcribed')
    .action((files: string[], flags: TranscribeFlags) => runTranscribe(files, flags));
}
