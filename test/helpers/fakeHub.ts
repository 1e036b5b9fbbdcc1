/**
 * A stand-in for the Hugging Face hub on 127.0.0.1: the tree API (paginated, with sizes, git blob ids and
 * LFS sha256) and `resolve` downloads with HTTP ranges, plus switches to misbehave in the ways the
 * downloader must survive. It closes itself after a minute (or `lifetimeMs`) even if a test forgets to.
 * Used by the download unit tests and by the end-to-end suite (test/e2e/steps/models.mjs).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, relative, sep } from 'node:path';

export interface FakeFile {
  readonly path: string;
  readonly content: Buffer;
  readonly lfs: boolean;
}

export interface SeenRequest {
  readonly path: string;
  readonly range: string | undefined;
  readonly authorization: string | undefined;
}

export interface FakeHub {
  readonly endpoint: string;
  readonly requests: SeenRequest[];
  /** Repo file path → bytes to send before destroying the socket, once. */
  readonly dropOnce: Map<string, number>;
  /** Repo file path → bytes to send before going silent (keeping the connection open), once; then `onStall`. */
  readonly stallOnce: Map<string, { readonly afterBytes: number; readonly onStall: () => void }>;
  /** Repo file paths served with one byte changed. */
  readonly corrupt: Set<string>;
  /** Repo file paths that are listed but answer 404. */
  readonly missing: Set<string>;
  close(): Promise<void>;
}

const json = (value: unknown): Buffer => Buffer.from(`${JSON.stringify(value, null, 2)}\n`);

/** A tiny Whisper ONNX repository: real-looking configs, random bytes for the graphs. */
export function fakeWhisperFiles(): FakeFile[] {
  const small = (path: string, content: Buffer): FakeFile => ({ path, content, lfs: false });
  const big = (path: string, sizeBytes: number): FakeFile => ({
    path,
    content: randomBytes(sizeBytes),
    lfs: true,
  });
  return [
    small('config.json', json({ model_type: 'whisper', d_model: 384, num_mel_bins: 80 })),
    small('generation_config.json', json({ decoder_start_token_id: 50258 })),
    small('preprocessor_config.json', json({ feature_size: 80 })),
    small('tokenizer.json', json({ model: { type: 'BPE' } })),
    small('tokenizer_config.json', json({ model_max_length: 448 })),
    small('vocab.json', json({ '!': 0 })),
    // Empty on purpose: a zero-byte file takes no request but must still be installed.
    small('added_tokens.json', Buffer.alloc(0)),
    small('README.md', Buffer.from('# fake whisper\n')),
    big('model.safetensors', 1000),
    big('onnx/encoder_model.onnx', 150_000),
    big('onnx/decoder_model_merged.onnx', 240_000),
    big('onnx/decoder_with_past_model.onnx', 200_000),
    big('onnx/encoder_model_quantized.onnx', 40_000),
    big('onnx/decoder_model_merged_quantized.onnx', 60_000),
    big('onnx/encoder_model_fp16.onnx', 3_000),
    big('onnx/encoder_model_fp16.onnx_data', 70_000),
    big('onnx/decoder_model_merged_fp16.onnx', 120_000),
  ];
}

/**
 * The files of a model folder on disk, served as a repository: graphs and weights as LFS files (sha256
 * verified), configs as plain git files, as on the hub.
 */
export async function folderFiles(folder: string, dir = folder): Promise<FakeFile[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map(async (entry): Promise<FakeFile[]> => {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) return folderFiles(folder, full);
      const path = relative(folder, full).split(sep).join('/');
      return [{ path, content: await readFile(full), lfs: /\.(onnx|onnx_data\w*|safetensors)$/.test(path) }];
    }),
  );
  return nested.flat();
}

export async function writeFakeFiles(folder: string, files: readonly FakeFile[]): Promise<void> {
  for (const file of files) {
    await mkdir(dirname(join(folder, file.path)), { recursive: true });
    await writeFile(join(folder, file.path), file.content);
  }
}

function treeEntry(file: FakeFile): object {
  const gitBlobId = (content: Buffer): string =>
    createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex');
  if (!file.lfs)
    return { type: 'file', path: file.path, size: file.content.length, oid: gitBlobId(file.content) };
  const sha256 = createHash('sha256').update(file.content).digest('hex');
  const pointer = Buffer.from(
    `version https://git-lfs.github.com/spec/v1\noid sha256:${sha256}\nsize ${file.content.length}\n`,
  );
  return {
    type: 'file',
    path: file.path,
    size: file.content.length,
    oid: gitBlobId(pointer),
    lfs: { oid: sha256, size: file.content.length, pointerSize: pointer.length },
  };
}

export async function startFakeHub(options: {
  readonly repos: Readonly<Record<string, readonly FakeFile[]>>;
  /** Repos that answer 401 unless this bearer token is sent. */
  readonly tokens?: Readonly<Record<string, string>>;
  readonly pageSize?: number;
  /** How long the server lives at most; a minute when absent. */
  readonly lifetimeMs?: number;
}): Promise<FakeHub> {
  const pageSize = options.pageSize ?? 4;
  const hub: Omit<FakeHub, 'endpoint' | 'close'> = {
    requests: [],
    dropOnce: new Map(),
    stallOnce: new Map(),
    corrupt: new Set(),
    missing: new Set(),
  };

  const handle = (request: IncomingMessage, response: ServerResponse, endpoint: string): void => {
    const url = new URL(request.url ?? '/', endpoint);
    const path = decodeURIComponent(url.pathname);
    hub.requests.push({ path, range: request.headers.range, authorization: request.headers.authorization });
    const tree = /^\/api\/models\/([^/]+\/[^/]+)\/tree\/main$/.exec(path);
    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/main\/(.+)$/.exec(path);
    const repo = tree?.[1] ?? resolve?.[1];
    const files = repo === undefined ? undefined : options.repos[repo];
    if (!files) {
      response.writeHead(404, { 'x-error-code': 'RepoNotFound' }).end('Repository not found');
      return;
    }
    const token = options.tokens?.[repo ?? ''];
    if (token !== undefined && request.headers.authorization !== `Bearer ${token}`) {
      response.writeHead(401).end('Unauthorized');
      return;
    }
    if (tree) {
      const directories = [...new Set(files.map((file) => dirname(file.path)).filter((dir) => dir !== '.'))];
      const entries = [
        ...directories.map((dir) => ({ type: 'directory', path: dir, oid: '0'.repeat(40), size: 0 })),
        ...files.map(treeEntry),
      ];
      const cursor = Number(url.searchParams.get('cursor') ?? 0);
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (cursor + pageSize < entries.length) {
        headers.link = `<${endpoint}${url.pathname}?recursive=true&cursor=${cursor + pageSize}>; rel="next"`;
      }
      response.writeHead(200, headers).end(JSON.stringify(entries.slice(cursor, cursor + pageSize)));
      return;
    }
    const filePath = resolve?.[2] ?? '';
    const file = files.find((candidate) => candidate.path === filePath);
    if (!file || hub.missing.has(filePath)) {
      response.writeHead(404, { 'x-error-code': 'EntryNotFound' }).end('Entry not found');
      return;
    }
    let content = file.content;
    if (hub.corrupt.has(filePath)) {
      content = Buffer.from(content);
      content[content.length >> 1] = (content[content.length >> 1] ?? 0) ^ 0xff;
    }
    const start = Number(/^bytes=(\d+)-$/.exec(request.headers.range ?? '')?.[1] ?? 0);
    const body = content.subarray(start);
    response.writeHead(start > 0 ? 206 : 200, {
      'content-length': String(body.length),
      'accept-ranges': 'bytes',
      ...(start > 0 ? { 'content-range': `bytes ${start}-${content.length - 1}/${content.length}` } : {}),
    });
    const drop = hub.dropOnce.get(filePath);
    const stall = hub.stallOnce.get(filePath);
    if (drop !== undefined) {
      hub.dropOnce.delete(filePath);
      response.write(body.subarray(0, drop), () => response.socket?.destroy());
    } else if (stall !== undefined) {
      hub.stallOnce.delete(filePath);
      response.write(body.subarray(0, stall.afterBytes), () => stall.onStall());
    } else {
      response.end(body);
    }
  };

  const server = createServer((request, response) => handle(request, response, endpoint));
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const close = (): Promise<void> =>
    new Promise((closed) => {
      server.closeAllConnections();
      server.close(() => closed());
    });
  setTimeout(() => void close(), options.lifetimeMs ?? 60_000).unref();
  return { ...hub, endpoint, close };
}

/** A loopback port with nothing listening on it. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  const port = (server.address() as AddressInfo).port;
  await new Promise((closed) => server.close(closed));
  return port;
}
