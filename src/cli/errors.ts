import { isSttError, type SttErrorKind } from '../engine/errors';

/** The one place that turns failures into a message on stderr and a process exit code. */
export const exitCodes: Readonly<Record<SttErrorKind | 'internal', number>> = {
  internal: 1,
  usage: 2,
  input: 3,
  model: 4,
  convert: 5,
  network: 6,
  cancelled: 130,
};

export function describeFailure(error: unknown): { readonly message: string; readonly exitCode: number } {
  if (isSttError(error)) {
    return { message: `quantum-stt: ${error.message}`, exitCode: exitCodes[error.kind] };
  }
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return {
    message: `quantum-stt: internal error (please report it):\n${detail}`,
    exitCode: exitCodes.internal,
  };
}
