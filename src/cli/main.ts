import { Command, CommanderError } from 'commander';
import { version } from '../../package.json';
import { addConvertCommand } from './convertCommand';
import { describeFailure, exitCodes } from './errors';
import { registerModelsCommand } from './modelsCommand';
import { addTranscribeCommand } from './transcribeCommand';

export function buildProgram(): Command {
  const program = new Command('quantum-stt')
    .description('Local Whisper speech-to-text: transcribe and translate media files, convert checkpoints.')
    .version(version, '-v, --version')
    .showHelpAfterError()
    .exitOverride();

  addTranscribeCommand(program);

  addConvertCommand(program);

  registerModelsCommand(program);

  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv as string[], { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has already printed help, the version or the usage error.
      return error.exitCode === 0 ? 0 : exitCodes.usage;
    }
    const failure = describeFailure(error);
    process.stderr.write(`${failure.message}\n`);
    return failure.exitCode;
  }
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
