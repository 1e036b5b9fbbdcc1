/**
 * Every failure a user can act on is a SttError with a kind; anything else is a bug. The CLI maps kinds to
 * exit codes in one place (src/cli/errors.ts) and the extension maps them to notifications.
 */
export type SttErrorKind =
  | 'usage' // a wrong flag or option value
  | 'input' // unreadable, corrupt or unsupported media, bad audio
  | 'model' // model folder missing, incomplete or not a Whisper model
  | 'convert' // a checkpoint that cannot be converted
  | 'network' // download failures
  | 'cancelled'; // the user stopped the job

export class SttError extends Error {
  override readonly name = 'SttError';
  constructor(
    readonly kind: SttErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isSttError(error: unknown): error is SttError {
  return error instanceof SttError;
}
