// /send, /get and /files in the chat: each transfer runs beside the chat on a connection of its own, attached to
// the chat session (so a file is from us), tracked for the progress lines, its end reported in its buffer.

import { t } from '../text/i18n/index.js';
import { statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { nickKey, type ServerMessage } from '../../protocol/index.js';
import { sanitizeLine } from '../text/sanitize.js';
import { formatSize } from '../text/size.js';
import { fileTable, fsProblem } from '../text/wording.js';
import type { Request } from './connection.js';
import { defaultDownloadDir, expandHome } from './paths.js';
import type { ChatBuffer, ClientState } from './state.js';
import { downloadFile } from './transfer/download.js';
import type { Endpoint, Progress } from './transfer/open.js';
import { uploadFile } from './transfer/upload.js';
import type { Transfer, Transfers } from './transfers.js';

/** What the file actions need from the chat client. */
export interface FileActionsHost {
  readonly state: ClientState;
  readonly transfers: Transfers;
  /** The server connected to: transfers connect there too. */
  server(): Endpoint;
  connected(): boolean;
  /** The attach token of the chat session; null after saying in `buffer` why there is none. */
  transferToken(buffer: ChatBuffer): string | null;
  /** A request for `buffer`: null after saying an error reply there. */
  request(buffer: ChatBuffer, message: Request): Promise<ServerMessage | null>;
  /** Where /get saves without a DIR (default: ~/Downloads when it exists, else the current directory). */
  downloadDir(): string | undefined;
}

export class FileActions {
  private readonly jobs = new Set<Promise<void>>();
  private readonly abort = new AbortController();

  constructor(private readonly host: FileActionsHost) {}

  /** Resolves when every transfer started so far has ended (tests; quitting). */
  async done(): Promise<void> {
    while (this.jobs.size > 0) await Promise.all([...this.jobs]);
  }

  /** Quitting: close every transfer's connection; their failures are not reported. */
  stop(): void {
    this.abort.abort();
  }

  /** /send PATH: upload into this room or to the person of this private buffer. */
  send(buffer: ChatBuffer, typed: string): Promise<void> | null {
    const { state } = this.host;
    if (buffer.kind === 'server') {
      state.error(buffer, t('files.notHere'));
      return null;
    }
    const path = resolve(expandHome(typed));
    let size: number;
    try {
      const stat = statSync(path);
      if (stat.isDirectory()) throw Object.assign(new Error('directory'), { code: 'EISDIR' });
      size = stat.size;
    } catch (error) {
      state.error(buffer, t('files.cannotSend', { path: typed, why: fsProblem(error) }));
      return null;
    }
    const token = this.host.transferToken(buffer);
    if (!token) return null;
    const name = basename(path);
    const shown = sanitizeLine(name);
    const transfer = this.host.transfers.start('up', shown, buffer.key, size);
    const target = buffer.kind === 'room' ? { room: buffer.key } : { to: buffer.name };
    return this.track(
      transfer,
      async (onProgress) => {
        const result = await uploadFile({
          endpoint: this.host.server(), identity: { token }, path, name, ...target, onProgress, signal: this.abort.signal,
          onHashProgress: (p) => this.host.transfers.hashing(transfer, p.done, p.total),
        });
        return t('files.sent', { name: shown, size: formatSize(result.size), resumed: resumedAfter(result.resumedFrom) });
      },
      t('files.couldNotSend', { name: shown }),
    );
  }

  /** /get N|ID [DIR]: download into DIR (or the default directory). */
  get(buffer: ChatBuffer, ref: { number: number } | { id: string }, dir?: string): Promise<void> | null {
    const { state } = this.host;
    const shared = state.findFile(buffer, ref);
    if (!shared && 'number' in ref) {
      state.error(buffer, t(buffer.kind === 'server' ? 'files.noNumberServer' : 'files.noNumberHere', { number: ref.number }));
      return null;
    }
    const id = shared?.file ?? (ref as { id: string }).id;
    const target = dir !== undefined ? resolve(expandHome(dir)) : this.host.downloadDir() ?? defaultDownloadDir();
    try {
      if (!statSync(target).isDirectory()) {
        state.error(buffer, t('files.notADirectory', { dir: dir ?? target }));
        return null;
      }
    } catch (error) {
      state.error(buffer, t('files.cannotSave', { dir: dir ?? target, why: fsProblem(error) }));
      return null;
    }
    const token = this.host.transferToken(buffer);
    if (!token) return null;
    const shown = shared ? sanitizeLine(shared.name) : sanitizeLine(id);
    const transfer = this.host.transfers.start('down', shown, buffer.key, shared?.size ?? 0);
    return this.track(
      transfer,
      async (onProgress) => {
        const result = await downloadFile({
          endpoint: this.host.server(), identity: { token }, file: id, output: { dir: target }, resume: true, onProgress,
          signal: this.abort.signal,
        });
        return t('files.saved', {
          name: sanitizeLine(result.name), path: sanitizeLine(result.path ?? target), size: formatSize(result.size), resumed: resumedAfter(result.resumedFrom),
        });
      },
      t('files.couldNotDownload', { name: shown }),
    );
  }

  /** /files: what the server has for this buffer, merged into the numbering, then listed. */
  async list(buffer: ChatBuffer): Promise<void> {
    const { state } = this.host;
    if (buffer.kind === 'server') {
      state.error(buffer, t('files.listWhere'));
      return;
    }
    const reply = this.host.connected()
      ? await this.host.request(buffer, buffer.kind === 'room' ? { type: 'files', room: buffer.key } : { type: 'files' })
      : null;
    if (reply?.type === 'files') {
      const peer = nickKey(buffer.name);
      const mine = (f: { from: string; to?: string }) => nickKey(f.from) === peer || (f.to !== undefined && nickKey(f.to) === peer);
      const files = [...reply.files].sort((a, b) => Date.parse(a.ts) - Date.parse(b.ts));
      for (const file of files) if (buffer.kind === 'room' || mine(file)) state.noteFile(buffer, file);
    }
    const where = buffer.kind === 'room' ? buffer.name : t('files.conversationWith', { nick: buffer.name });
    if (buffer.files.length === 0) {
      state.info(buffer, t('files.none', { where }));
      return;
    }
    state.info(buffer, t('files.header', { where, count: buffer.files.length }));
    for (const line of fileTable([...buffer.files].sort((a, b) => a.number - b.number))) state.info(buffer, `  ${line}`);
  }

  /** Run a transfer beside the chat: tracked for the progress line, its end reported in its buffer. */
  private track(transfer: Transfer, work: (onProgress: (p: Progress) => void) => Promise<string>, failure: string): Promise<void> {
    const { state, transfers } = this.host;
    const job = work((p) => transfers.progress(transfer, p.done, p.total)).then(
      (text) => {
        const target = state.buffer(transfer.bufferKey) ?? state.serverBuffer;
        if (text) state.info(target, text);
      },
      (error: unknown) => {
        if (this.abort.signal.aborted) return;
        const target = state.buffer(transfer.bufferKey) ?? state.serverBuffer;
        state.error(target, t('files.failed', { what: failure, why: fsProblem(error) }));
      },
    ).finally(() => {
      this.jobs.delete(job);
      transfers.finish(transfer);
    });
    this.jobs.add(job);
    return job;
  }
}

function resumedAfter(bytes: number): string {
  return bytes > 0 ? t('files.resumed', { size: formatSize(bytes) }) : '';
}
