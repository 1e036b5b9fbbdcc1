import { Command, Option } from 'commander';
import { statSync } from 'node:fs';
import { basename } from 'node:path';
import { loadAudioFile } from '../engine/audio';
import { SttError } from '../engine/errors';
import {
  loadModel,
  type EngineLogger,
  type ExecutionProvider,
  type LoadOptions,
  type ModelDtype,
  type RunOptions,
  type TranscribeProgress,
} from '../engine/index';
import { writeTranscriptFiles } from '../transcript/writeFiles';

const cliFormats = ['json', 'txt', 'srt', 'vtt'] as const;

interface TranscribeFlags {
  readonly model?: string;
  readonly language: string;
  readonly task: RunOptions['task'];
  readonly timestamps: RunOptions['timestamps'];
  readonly format: (typeof cliFormats)[number];
  readonly outDir?: string;
  readonly overwrite?: boolean;
  readonly prompt?: string;
  readonly dtype?: string;
  readonly encoderDtype?: string;
  readonly decoderDtype?: string;
  readonly provider?: string;
  readonly verbose?: boolean;
}

/**
 * Progress on stderr: a bar redrawn in place on a terminal, one line per tenth otherwise (logs and pipes
 * should not fill up with carriage returns).
 */
function progressReporter(fileName: string): { update(progress: TranscribeProgress): void; done(): void } {
  const interactive = process.stderr.isTTY === true;
  let printedTenths = -1;
  return {
    update({ processedSec, totalSec }) {
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

async function runTranscribe(files: readonly string[], flags: TranscribeFlags): Promise<void> {
  if (flags.model === undefined) throw new SttError('usage', 'transcribe needs --model <dir>');
  for (const file of files) {
    if (statSync(file, { throwIfNoEntry: false })?.isDirectory()) {
      throw new SttError('usage', `${file} is a folder: name the media files (e.g. ${file}/*.wav)`);
    }
  }
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
      initialPrompt: flags.prompt,
    };
    for (const file of files) {
      const audio = await loadAudioFile(file);
      const progress = progressReporter(basename(file));
      const transcript = await model.transcribe(audio.samples, runOptions, { onProgress: progress.update });
      progress.done();
      const written = await writeTranscriptFiles(transcript, {
        mediaPath: file,
        formats: [flags.format],
        outDir: flags.outDir,
        overwrite: flags.overwrite ?? false,
      });
      for (const path of written) process.stderr.write(`wrote ${path}\n`);
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

export function addTranscribeCommand(program: Command): void {
  program
    .command('transcribe')
    .description('Transcribe or translate audio files')
    .argument('<files...>', 'media files')
    .option('--model <dir>', 'Whisper ONNX model folder')
    .option('--language <code>', 'language code (en, de, …) or auto to detect it', 'auto')
    .addOption(
      new Option('--task <task>', 'transcribe, or translate to English')
        .choices(['transcribe', 'translate'])
        .default('transcribe'),
    )
    .addOption(
      new Option('--timestamps <mode>', 'segment: timed segments; none: text only')
        .choices(['none', 'segment'])
        .default('segment'),
    )
    .addOption(new Option('--format <format>', 'output format').choices([...cliFormats]).default('json'))
    .option('--out-dir <dir>', "output folder (default: each file's folder)")
    .option('--overwrite', 'replace existing output files')
    .option('--prompt <text>', 'text to condition the first window on (names, spellings)')
    .option('--dtype <dtype>', 'weight format of both parts (fp32, fp16, q8, int8, uint8, q4, q4f16, bnb4)')
    .option('--encoder-dtype <dtype>', 'weight format of the encoder')
    .option('--decoder-dtype <dtype>', 'weight format of the decoder')
    .option(
      '--provider <list>',
      'execution providers to try in order, e.g. cuda,cpu (default: webgpu,cuda,dml,coreml,cpu)',
    )
    .option('--verbose', 'log the execution provider, fallbacks and timings')
    .action((files: string[], flags: TranscribeFlags) => runTranscribe(files, flags));
}
