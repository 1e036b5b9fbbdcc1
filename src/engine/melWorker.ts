import { parentPort } from 'node:worker_threads';
import { computeMel, type MelJob, type MelReply } from './features';

/** The log-mel worker thread's entry (bundled as dist/mel-worker.js): computes each job as it arrives. */
parentPort?.on('message', ({ id, job }: { id: number; job: MelJob }) => {
  let reply: MelReply;
  try {
    reply = { id, mel: computeMel(job) };
  } catch (error) {
    reply = { id, error: error instanceof Error ? error.message : String(error) };
  }
  parentPort!.postMessage(reply, 'mel' in reply ? [reply.mel.data.buffer as ArrayBuffer] : []);
});
