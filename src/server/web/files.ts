// GET /files/ID (docs/protocol.md "WebSocket"): a file from the store, always as an attachment under a safe name.
// A room's file is fetched by its id, as over TCP; a private file only with `Authorization: Bearer <token>`, the
// token of the requester's live connection (its `welcome`), whose principal must be the file's sender or recipient.
// A header, not the URL: it stays out of logs and history, and a foreign page cannot send it without CORS.
// On a cluster the token may be another node's connection's (state/session-tokens.ts): the backend knows it.

import { createReadStream } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FileStore } from '../files/store.js';
import type { Session } from '../session.js';
import type { SessionTokens } from '../state/session-tokens.js';
import { plain } from './headers.js';

const FILE_ID = /^[A-Za-z0-9_-]{1,64}$/;

export interface FileRouteHost {
  readonly files: FileStore;
  readonly attachTokens: Map<string, Session>;
  readonly backend: { readonly tokens: SessionTokens };
}

/** Who asks: the principal of the live connection whose token the request carries, or '' (nobody's). */
async function requester(host: FileRouteHost, request: IncomingMessage): Promise<string> {
  const match = /^Bearer ([A-Za-z0-9_-]{1,64})$/.exec(request.headers.authorization ?? '');
  if (!match) return '';
  const session = host.attachTokens.get(match[1]!);
  if (session) return session.closed ? '' : session.principal;
  return (await host.backend.tokens.find(match[1]!))?.principal ?? '';
}

/** `filename="…"` in ASCII that no browser or shell can misread, plus the real name in RFC 5987 form. */
export function contentDisposition(name: string): string {
  const cleaned = name.replace(/[\u0000-\u001f\u007f-\u009f/\\]/g, '_').replace(/^[.\s]+/, '') || 'download';
  const ascii = cleaned.replace(/[^A-Za-z0-9._ ()+-]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(cleaned)}`;
}

export async function serveFile(host: FileRouteHost, id: string, request: IncomingMessage, response: ServerResponse): Promise<void> {
  if (!FILE_ID.test(id)) return plain(response, 404, 'no such file (or it is not yours to fetch)');
  const record = host.files.get(id, await requester(host, request));
  if (!record) return plain(response, 404, 'no such file (or it is not yours to fetch)');
  response.writeHead(200, {
    'Content-Type': 'application/octet-stream',
    'Content-Length': record.size,
    'Content-Disposition': contentDisposition(record.name),
    'Cache-Control': 'private, no-store',
    'X-Chat-Sha256': record.sha256,
  });
  if (request.method === 'HEAD') return void response.end();
  const body = createReadStream(host.files.objectPath(record.sha256));
  body.on('error', () => response.destroy());
  body.pipe(response);
}
