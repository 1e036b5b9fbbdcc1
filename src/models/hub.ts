/**
 * A minimal Hugging Face hub client: the file listing of a repository and ranged file downloads. This is the
 * product's only network use, and it only ever talks to the configured endpoint.
 */
import { version } from '../../package.json';
import { SttError } from '../engine/errors';

export const defaultHubEndpoint = 'https://huggingface.co';
const defaultRevision = 'main';

export interface HubSettings {
  /** Base URL of the hub or of a mirror; empty means the public hub. */
  readonly endpoint?: string;
  /** A Hugging Face access token, for private or gated repositories. */
  readonly token?: string;
  /** Branch, tag or commit; `main` when absent. */
  readonly revision?: string;
}

/** One file of a repository as the hub's tree API describes it. */
export interface HubFile {
  readonly path: string;
  readonly sizeBytes: number;
  /** The git blob id (sha1 of `blob <size>\0<content>`); for LFS files, that of the pointer, not the content. */
  readonly gitOid: string;
  /** sha256 of the content, present for LFS (and Xet) files. */
  readonly sha256?: string;
}

/**
 * A hub failure. `retryable` marks what may succeed on a later attempt (dropped connections, 5xx, 429);
 * refusals such as 404 or 401 will not. `unreachable`: no connection could be made at all.
 */
export class HubError extends SttError {
  readonly unreachable: boolean;

  constructor(
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown; unreachable?: boolean },
  ) {
    super('network', message, options);
    this.unreachable = options?.unreachable ?? false;
  }
}

/** Error codes of a connection that could not be made at all (as opposed to one that dropped). */
const unreachableCodes = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/** The first error code along the cause chain (fetch wraps socket errors), and the innermost message. */
function describeTransportError(error: unknown): { code: string | undefined; message: string } {
  let code: string | undefined;
  let message = String(error);
  for (let current = error; current instanceof Error; current = current.cause) {
    const candidate = (current as { code?: unknown }).code;
    code ??= typeof candidate === 'string' ? candidate : undefined;
    message = current.message;
  }
  return { code, message };
}

export class HubClient {
  readonly endpoint: string;
  readonly revision: string;
  private readonly token: string | undefined;

  constructor(settings: HubSettings = {}) {
    this.endpoint = (settings.endpoint?.trim() || defaultHubEndpoint).replace(/\/+$/, '');
    this.revision = settings.revision?.trim() || defaultRevision;
    this.token = settings.token?.trim() || undefined;
    if (!/^https?:\/\//.test(this.endpoint)) {
      throw new SttError('usage', `the hub endpoint must be an http(s) URL, not "${this.endpoint}"`);
    }
  }

  /** Every file of the repository at the revision, following the API's pagination. */
  async listFiles(repo: string, signal?: AbortSignal): Promise<HubFile[]> {
    const what = `model repository ${repo}`;
    const files: HubFile[] = [];
    let url: string | undefined =
      `${this.endpoint}/api/models/${encodePath(repo)}/tree/${encodeURIComponent(this.revision)}?recursive=true`;
    while (url) {
      const response = await this.request(url, what, { signal });
      let page: unknown;
      try {
        page = await response.json();
      } catch (error) {
        throw this.transportError(error, what);
      }
      if (!Array.isArray(page)) {
        throw new HubError(
          `${this.endpoint} did not answer like a Hugging Face hub when listing ${repo}`,
          false,
        );
      }
      files.push(...page.flatMap((entry: unknown) => parseTreeEntry(entry)));
      url = this.nextPage(response.headers.get('link'), url);
    }
    return files;
  }

  fileUrl(repo: string, path: string): string {
    return `${this.endpoint}/${encodePath(repo)}/resolve/${encodeURIComponent(this.revision)}/${encodePath(path)}`;
  }

  /**
   * Starts downloading a file from `offsetBytes` on. The answer is 206 when the server honoured the range and
   * 200 when it sends the whole file again; the caller must check which.
   */
  async openFile(repo: string, path: string, offsetBytes: number, signal?: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = offsetBytes > 0 ? { range: `bytes=${offsetBytes}-` } : {};
    return this.request(this.fileUrl(repo, path), `file ${path} of ${repo}`, { signal, headers, repo });
  }

  /** Turns a failure to send or receive into a HubError naming the endpoint; aborts pass through unchanged. */
  transportError(error: unknown, what: string): unknown {
    if (error instanceof SttError || (error instanceof Error && error.name === 'AbortError')) return error;
    const { code, message } = describeTransportError(error);
    if (code && unreachableCodes.has(code)) {
      return new HubError(
        `could not reach ${this.endpoint} (${code}); check your connection or the hub endpoint setting`,
        true,
        { cause: error, unreachable: true },
      );
    }
    // Socket failures carry a code and may pass; an error without one (fetch refusing a port) will not.
    return new HubError(
      `the connection to ${this.endpoint} failed while fetching ${what} (${code ?? message})`,
      code !== undefined,
      { cause: error },
    );
  }

  private async request(
    url: string,
    what: string,
    options: { signal?: AbortSignal; headers?: Record<string, string>; repo?: string },
  ): Promise<Response> {
    const headers: Record<string, string> = {
      'user-agent': `quantum-stt/${version}`,
      // Byte offsets and sizes must refer to the stored file, not to a compressed transfer of it.
      'accept-encoding': 'identity',
      ...options.headers,
    };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    let response: Response;
    try {
      response = await fetch(url, { headers, signal: options.signal, redirect: 'follow' });
    } catch (error) {
      throw this.transportError(error, what);
    }
    if (response.ok) return response;
    // Free the connection: the error body is of no use beyond the status and the hub's error code.
    await response.body?.cancel().catch(() => undefined);
    throw this.statusError(response, what, options.repo);
  }

  private statusError(response: Response, what: string, repo: string | undefined): HubError {
    const status = response.status;
    // The public hub names the reason in this header; mirrors may not send it.
    const hubCode = response.headers.get('x-error-code') ?? '';
    const at = `${this.endpoint} (revision ${this.revision})`;
    const tokenHint = this.token
      ? 'the access token given was not accepted for it'
      : 'a Hugging Face access token is needed (--token, HF_TOKEN, or the Quantum STT hub token setting)';
    if (hubCode === 'RepoNotFound' || (status === 404 && repo === undefined)) {
      const privateHint = status === 401 ? `, or it is private and ${tokenHint}` : '';
      return new HubError(`${what} was not found at ${at}${privateHint}`, false);
    }
    if (hubCode === 'RevisionNotFound') {
      return new HubError(
        `revision ${this.revision} of ${repo ?? what} was not found at ${this.endpoint}`,
        false,
      );
    }
    if (status === 404) return new HubError(`${what} was not found at ${at}`, false);
    if (status === 401)
      return new HubError(`${this.endpoint} refused ${what} (HTTP 401): ${tokenHint}`, false);
    if (status === 403) {
      return new HubError(
        `${this.endpoint} refused ${what} (HTTP 403): the repository may be gated; accept its terms on the hub ` +
          `and use an access token of that account`,
        false,
      );
    }
    const retryable = status === 408 || status === 429 || status >= 500;
    return new HubError(`${this.endpoint} answered HTTP ${status} for ${what}`, retryable);
  }

  /** The next page of a listing from the `Link: <url>; rel="next"` header, only on the same origin. */
  private nextPage(link: string | null, currentUrl: string): string | undefined {
    const target = link?.match(/<([^>]+)>\s*;\s*rel="?next"?/)?.[1];
    if (!target) return undefined;
    const next = new URL(target, currentUrl);
    // Never send the token to another host because a response said so.
    if (next.origin !== new URL(this.endpoint).origin) {
      throw new HubError(`${this.endpoint} pointed the file listing to another host (${next.origin})`, false);
    }
    return next.href;
  }
}

function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

function parseTreeEntry(entry: unknown): HubFile[] {
  if (typeof entry !== 'object' || entry === null) return [];
  const { type, path, size, oid, lfs } = entry as Record<string, unknown>;
  if (type !== 'file' || typeof path !== 'string' || typeof size !== 'number' || typeof oid !== 'string')
    return [];
  const lfsInfo = typeof lfs === 'object' && lfs !== null ? (lfs as Record<string, unknown>) : {};
  // For LFS files the content's size and sha256 are in `lfs`; `size` has matched it, but `lfs` is authoritative.
  const sizeBytes = typeof lfsInfo.size === 'number' ? lfsInfo.size : size;
  const sha256 = typeof lfsInfo.oid === 'string' ? lfsInfo.oid.toLowerCase() : undefined;
  return [{ path, sizeBytes, gitOid: oid, ...(sha256 ? { sha256 } : {}) }];
}
