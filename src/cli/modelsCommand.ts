import { Command, Option } from 'commander';
import {
  catalog,
  defaultModelChoice,
  estimatedDownloadBytes,
  modelDtypes,
  parameterCountOf,
  type ModelChoice,
  type ModelDtype,
} from '../models/catalog';
import { downloadModel, downloadTargetFor, type DownloadProgress } from '../models/download';
import { defaultStoreRoot, ModelStore, type InstalledModel } from '../models/store';

/** Decimal units, as the hub shows sizes. */
export function formatBytes(sizeBytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = sizeBytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

function formatDuration(durationMs: number): string {
  const totalSeconds = Math.ceil(durationMs / 1000);
  const minutes = Math.floor(totalSeconds / 60);
  const seconds = totalSeconds % 60;
  if (minutes >= 60) return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
  return minutes > 0 ? `${minutes}m${String(seconds).padStart(2, '0')}s` : `${seconds}s`;
}

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => row[column]?.length ?? 0))) ?? [];
  return rows
    .map((row) =>
      row
        .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
        .join('  '),
    )
    .join('\n');
}

function describeSource(model: InstalledModel): string {
  const source = model.source;
  if (!source) return 'unknown';
  if (source.kind === 'hub') return `${source.repo} (${source.endpoint})`;
  return `${source.linked ? 'linked to' : 'imported from'} ${source.from}`;
}

function describeChoice(choice: ModelChoice): string {
  return `${choice.entry.id} ${choice.dtype}`;
}

/** A bar redrawn in place on a terminal; on a pipe or log file, one line per tenth done. */
function progressPrinter(stream: NodeJS.WriteStream): {
  update(progress: DownloadProgress): void;
  end(): void;
} {
  let printedTenths = -1;
  let drawn = false;
  return {
    update(progress) {
      const fraction = progress.totalBytes > 0 ? Math.min(progress.doneBytes / progress.totalBytes, 1) : 1;
      const eta = progress.etaMs === undefined ? '' : `  ETA ${formatDuration(progress.etaMs)}`;
      const rate = progress.bytesPerSecond > 0 ? `  ${formatBytes(progress.bytesPerSecond)}/s` : '';
      const figures = `${Math.floor(fraction * 100)}%  ${formatBytes(progress.doneBytes)} / ${formatBytes(progress.totalBytes)}${rate}${eta}`;
      if (stream.isTTY) {
        const barWidth = 30;
        const filled = Math.round(fraction * barWidth);
        stream.write(`\r[${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}] ${figures}\x1b[K`);
        drawn = true;
      } else if (Math.floor(fraction * 10) > printedTenths) {
        printedTenths = Math.floor(fraction * 10);
        stream.write(`${figures}\n`);
      }
    },
    end() {
      if (drawn) stream.write('\n');
      drawn = false;
    },
  };
}

function store(): ModelStore {
  return new ModelStore(defaultStoreRoot());
}

export function registerModelsCommand(program: Command): void {
  const models = program
    .command('models')
    .description('List, download and remove models')
    .addHelpText(
      'after',
      `\nModels are stored in $QUANTUM_STT_HOME/models (default ~/.cache/quantum-stt/models).`,
    );

  models
    .command('list')
    .description('Installed models with their size on disk')
    .action(async () => {
      const installed = await store().list();
      if (installed.length === 0) {
        process.stdout.write(
          `No models installed in ${store().root}.\nSee \`quantum-stt models catalog\`, then \`quantum-stt models download <model>\`.\n`,
        );
        return;
      }
      const rows = installed.map((model) => [
        model.id,
        model.dtypes.join(',') || '-',
        formatBytes(model.sizeBytes),
        describeSource(model),
      ]);
      process.stdout.write(`${table([['MODEL', 'DTYPES', 'SIZE', 'SOURCE'], ...rows])}\n`);
    });

  models
    .command('catalog')
    .description('Models available for download, with estimated sizes')
    .action(() => {
      const rows = catalog.map((entry) => [
        entry.id,
        `${Math.round(parameterCountOf(entry) / 1e6)}M`,
        entry.languages,
        entry.canTranslate ? 'yes' : 'no',
        ...modelDtypes.map((dtype) => `~${formatBytes(estimatedDownloadBytes(entry, dtype))}`),
        entry.goodFor,
      ]);
      const header = ['MODEL', 'PARAMS', 'LANGUAGES', 'TRANSLATE', ...modelDtypes, 'GOOD FOR'];
      process.stdout.write(
        `${table([header, ...rows])}\n\n` +
          `Sizes are estimates from parameter counts, decoder_with_past_model included (--no-with-past-decoder\n` +
          `leaves it out); the exact size comes from the hub when downloading.\n` +
          `Suggested: ${describeChoice(defaultModelChoice(['cpu']))} on a CPU, ` +
          `${describeChoice(defaultModelChoice(['cuda', 'cpu']))} with a GPU.\n`,
      );
    });

  models
    .command('download')
    .description('Download a model from the Hugging Face hub (resumes an interrupted download)')
    .argument('<model>', 'a name from `quantum-stt models catalog`, or a hub repository as owner/name')
    .addOption(new Option('--dtype <dtype>', 'weight format').choices(modelDtypes).default('fp32'))
    .addOption(new Option('--endpoint <url>', 'hub endpoint or mirror').env('HF_ENDPOINT'))
    .addOption(
      new Option('--token <token>', 'Hugging Face access token, for private or gated models').env('HF_TOKEN'),
    )
    .option('--revision <revision>', 'branch, tag or commit', 'main')
    .option(
      '--no-with-past-decoder',
      'skip decoder_with_past_model (smaller download; CPU decoding 1.4–2× slower per token)',
    )
    .action(
      async (
        name: string,
        options: {
          dtype: ModelDtype;
          endpoint?: string;
          token?: string;
          revision: string;
          withPastDecoder: boolean;
        },
      ) => {
        const target = downloadTargetFor(name);
        const cancel = new AbortController();
        const onInterrupt = (): void => cancel.abort();
        process.once('SIGINT', onInterrupt);
        const progress = progressPrinter(process.stderr);
        process.stderr.write(`Downloading ${target.repo} (${options.dtype})\n`);
        try {
          const installed = await downloadModel(store(), target, {
            dtype: options.dtype,
            withPastDecoder: options.withPastDecoder,
            hub: { endpoint: options.endpoint, token: options.token, revision: options.revision },
            signal: cancel.signal,
            onProgress: (update) => progress.update(update),
          });
          progress.end();
          process.stdout.write(
            `Installed ${installed.id} (${installed.dtypes.join(', ')}; ${formatBytes(installed.sizeBytes)}) in ${installed.folder}\n`,
          );
        } finally {
          progress.end();
          process.off('SIGINT', onInterrupt);
        }
      },
    );

  models
    .command('remove')
    .description('Delete an installed model and any unfinished download of it')
    .argument('<model>', 'installed model name')
    .action(async (id: string) => {
      await store().remove(id);
      process.stdout.write(`Removed ${id}\n`);
    });

  models
    .command('import')
    .description('Add a local Whisper ONNX folder (onnx-community layout) to the store')
    .argument('<dir>', 'model folder')
    .option('--name <name>', 'name in the store (default: the folder name)')
    .option('--link', 'link to the folder instead of copying it')
    .action(async (dir: string, options: { name?: string; link?: boolean }) => {
      const installed = await store().importFolder(dir, options);
      process.stdout.write(
        `Imported ${installed.id} (${installed.dtypes.join(', ')}; ${formatBytes(installed.sizeBytes)})\n`,
      );
    });

  models
    .command('path')
    .description('Print the folder of an installed model')
    .argument('<model>', 'installed model name, or a model folder')
    .action(async (name: string) => {
      process.stdout.write(`${await store().resolve(name)}\n`);
    });
}
