// `chat send-file` and `chat get`: files from and to the shell, with a progress bar on a terminal.

import { t } from '../text/i18n/index.js';
import type { Command } from 'commander';
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ClientError, ExitCode } from '../core/errors.js';
import { checkedNick, checkedRoom } from '../core/names.js';
import { userIdentity, type ConnectOptions } from './options.js';
import { formatSize } from '../text/size.js';
import { progressBar } from './progress-bar.js';
import { downloadFile } from '../core/transfer/download.js';
import { uploadFile } from '../core/transfer/upload.js';
import type { Io } from './io.js';

type Flags = { host?: string; port?: string; nick?: string };

export interface TransferCommandContext {
  io: Io;
  settings(flags: Flags): ConnectOptions & { nickChosen?: boolean };
  withConnectionOptions(command: Command): Command;
  setAction(action: () => Promise<number>): void;
}

/** stdin into a temporary file, so that its size and sha256 are known before the upload starts. */
async function spoolStdin(io: Io): Promise<{ path: string; cleanup(): void }> {
  const dir = mkdtempSync(join(tmpdir(), 'chat-stdin-'));
  const path = join(dir, 'stdin');
  await pipeline(io.stdin, createWriteStream(path));
  return { path, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Where an upload goes and what it reads: from `ROOM PATH`, or `PATH` with --to; `-` is stdin, spooled. */
export interface UploadSource {
  target: { room: string } | { to: string };
  /** The path as typed. */
  path: string;
  /** The file to read (a temporary copy of stdin for `-`). */
  file: string;
  fromStdin: boolean;
}

/** Check `ROOM PATH` (or `PATH` with --to), then run `work` on the readable file; a spooled stdin is removed after. */
export async function withUploadSource<T>(
  io: Io,
  args: string[],
  to: string | undefined,
  usage: string,
  work: (source: UploadSource) => Promise<T>,
): Promise<T> {
  if (args.length > 2) throw new ClientError('bad_config', usage);
  const [room, path] = args.length === 1 ? [undefined, args[0]] : [args[0], args[1]];
  if (path === undefined) throw new ClientError('bad_config', usage);
  if (to === undefined && room === undefined) throw new ClientError('bad_config', t('cli.whichRoom'));
  if (room !== undefined && to !== undefined) throw new ClientError('bad_config', t('cli.roomOrTo'));
  const target = to !== undefined ? { to: checkedNick(to) } : { room: checkedRoom(room!) };
  const spooled = path === '-' ? await spoolStdin(io) : null;
  const file = spooled?.path ?? path;
  try {
    try {
      statSync(file);
    } catch {
      throw new ClientError('bad_config', t('cli.noSuchFile', { path }));
    }
    return await work({ target, path, file, fromStdin: spooled !== null });
  } finally {
    spooled?.cleanup();
  }
}

export function addTransferCommands(program: Command, context: TransferCommandContext): void {
  const { io } = context;

  context
    .withConnectionOptions(
      program
        .command('send-file')
        .description(t('cli.sendFile'))
        .argument('<args...>', t('cli.sendFileArgs'))
        .option('--to <nick>', t('cli.sendFileTo'))
        .option('--name <name>', t('cli.sendFileName')),
    )
    .action((args: string[], flags: Flags & { to?: string; name?: string }) => {
      context.setAction(async () => {
        const options = context.settings(flags);
        const usage = t('cli.sendFileUsage');
        return withUploadSource(io, args, flags.to, usage, async ({ target, path, file, fromStdin }) => {
          const name = flags.name ?? (fromStdin ? 'stdin' : basename(path));
          const bar = progressBar(io, `⇡ ${name}`);
          const room = 'room' in target ? target.room : undefined;
          const result = await uploadFile({
            endpoint: options,
            identity: { ...userIdentity(options), ...(room !== undefined && { join: room }) },
            path: file,
            name,
            ...target,
            onProgress: (p) => bar.update(p),
          }).finally(() => bar.stop());
          io.stdout.write(`${result.file}\n`);
          const resumed = result.resumedFrom > 0 ? t('cli.resumed', { size: formatSize(result.resumedFrom) }) : '';
          io.stderr.write(t('cli.shared', { name, size: formatSize(result.size), resumed, file: result.file }) + '\n');
          return ExitCode.ok;
        });
      });
    });

  context
    .withConnectionOptions(
      program
        .command('get')
        .description(t('cli.get'))
        .argument('<id>', t('cli.getId'))
        .option('-o, --output <path>', t('cli.getOutput'))
        .option('-c, --continue', t('cli.getContinue')),
    )
    .action((id: string, flags: Flags & { output?: string; continue?: boolean }) => {
      context.setAction(async () => {
        const options = context.settings(flags);
        const target = flags.output ?? '.';
        const toStdout = target === '-';
        const isDir = !toStdout && (() => {
          try {
            return statSync(target).isDirectory();
          } catch {
            return false;
          }
        })();
        const bar = progressBar(io, `⇣ ${id.slice(0, 8)}`);
        const result = await downloadFile({
          endpoint: options,
          identity: userIdentity(options),
          file: id,
          output: toStdout ? { stream: io.stdout } : isDir ? { dir: target } : { path: target },
          resume: !!flags.continue,
          onProgress: (p) => bar.update(p),
        }).finally(() => bar.stop());
        if (result.path) {
          const resumed = result.resumedFrom > 0 ? t('cli.resumed', { size: formatSize(result.resumedFrom) }) : '';
          io.stderr.write(t('cli.saved', { path: result.path, size: formatSize(result.size), resumed }) + '\n');
        }
        return ExitCode.ok;
      });
    });
}
