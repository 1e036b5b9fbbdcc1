import { Command, Option } from 'commander';
import { SttError } from '../engine/errors';
import { modelSizes } from '../convert/catalog';
import {
  convertCheckpoint,
  makeRandomModel,
  type ConvertProgress,
  type ConvertResult,
} from '../convert/convert';

interface ConvertFlags {
  readonly dtype: 'fp32' | 'fp16';
  readonly timestamped?: boolean;
  readonly withPastDecoder?: boolean;
  readonly q4Decoder?: boolean;
  readonly random?: string;
  readonly tokenizer?: string;
  readonly seed?: string;
}

/** One line per file each time another tenth of its data is written: readable in logs and terminals alike. */
function progressPrinter(): (progress: ConvertProgress) => void {
  const printedTenths = new Map<string, number>();
  return ({ file, doneBytes, totalBytes }) => {
    const tenths = totalBytes === 0 ? 10 : Math.floor((10 * doneBytes) / totalBytes);
    if ((printedTenths.get(file) ?? 0) >= tenths) return;
    printedTenths.set(file, tenths);
    const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0);
    process.stderr.write(`${file}: ${tenths * 10}% (${mib(doneBytes)} / ${mib(totalBytes)} MiB)\n`);
  };
}

function parseSeed(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const seed = Number(text);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new SttError(
      'usage',
      `--seed must be an integer from 0 to 4294967295, not ${JSON.stringify(text)}`,
    );
  }
  return seed;
}

async function runConvert(
  first: string | undefined,
  second: string | undefined,
  flags: ConvertFlags,
): Promise<void> {
  const onProgress = progressPrinter();
  const common = {
    dtype: flags.dtype,
    timestamped: flags.timestamped ?? false,
    withPastDecoder: flags.withPastDecoder ?? false,
    q4Decoder: flags.q4Decoder ?? false,
    onProgress,
  };
  let result: ConvertResult;
  if (flags.random !== undefined) {
    if (!flags.tokenizer) throw new SttError('usage', 'convert --random needs --tokenizer <dir>');
    if (first === undefined || second !== undefined)
      throw new SttError('usage', 'convert --random takes exactly one <out-dir>');
    result = await makeRandomModel({
      ...common,
      size: flags.random,
      tokenizerDir: flags.tokenizer,
      seed: parseSeed(flags.seed),
      outDir: first,
    });
  } else {
    if (first === undefined || second === undefined)
      throw new SttError('usage', 'convert needs <checkpoint-dir> and <out-dir>');
    if (flags.tokenizer !== undefined || flags.seed !== undefined) {
      throw new SttError('usage', '--tokenizer and --seed only apply with --random');
    }
    result = await convertCheckpoint({ ...common, checkpointDir: first, outDir: second });
  }
  const { parameterCount, dtype } = result.manifest;
  process.stderr.write(
    `wrote ${result.outDir} (${(parameterCount / 1e6).toFixed(1)}M parameters, ${dtype})\n`,
  );
}

export function addConvertCommand(program: Command): void {
  program
    .command('convert')
    .description('Convert a Hugging Face Whisper checkpoint to ONNX, or make a random-weight model')
    .usage(
      '<checkpoint-dir> <out-dir> [options]\n       quantum-stt convert --random <size> --tokenizer <dir> [--seed N] <out-dir>',
    )
    .argument('[checkpoint-dir]', 'Hugging Face Whisper folder (config.json and safetensors)')
    .argument('[out-dir]', 'output folder (must not exist, or be empty)')
    .addOption(
      new Option('--dtype <dtype>', 'weight and activation precision')
        .choices(['fp32', 'fp16'])
        .default('fp32'),
    )
    .option('--timestamped', 'also output cross-attention weights (word timestamps)')
    .option(
      '--with-past-decoder',
      'also write decoder_with_past_model.onnx: one more decoder file, faster CPU decoding in this engine',
    )
    .option(
      '--q4-decoder',
      'also write the decoder with 4-bit weights (decoder_model_merged_q4.onnx; transcribe with --decoder-dtype q4)',
    )
    .addOption(
      new Option('--random <size>', 'random weights with the dimensions of a released size').choices(
        Object.keys(modelSizes),
      ),
    )
    .option('--tokenizer <dir>', 'with --random: folder with the tokenizer and config files to use')
    .option('--seed <n>', 'with --random: seed of the weights (default 0)')
    .action((first: string | undefined, second: string | undefined, flags: ConvertFlags) =>
      runConvert(first, second, flags),
    );
}
