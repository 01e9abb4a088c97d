// `chat send-voice` and `chat play`: voice messages from and to the shell (docs/protocol.md "Voice messages").

import { t } from '../text/i18n/index.js';
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { ClientError, ExitCode } from '../core/errors.js';
import { fetchVoice, playerFailure, startPlayer } from '../core/voice/play.js';
import { sendVoice } from '../core/voice/send.js';
import { findPlayer, type VoiceToolSettings } from '../core/voice/tools.js';
import { formatSize } from '../text/size.js';
import { formatDuration } from '../text/time.js';
import type { Io } from './io.js';
import { configPath } from './options.js';
import { progressBar } from './progress-bar.js';
import { withUploadSource, type TransferCommandContext } from './transfer-commands.js';

type Flags = { host?: string; port?: string; nick?: string };

/** "recorder" and "player" from the config file (checked there by readConfigFile for everything else). */
export function voiceSettings(env: Io['env']): VoiceToolSettings {
  try {
    const fields = JSON.parse(readFileSync(configPath(env), 'utf8')) as Record<string, unknown>;
    return {
      ...(typeof fields.recorder === 'string' && { recorder: fields.recorder }),
      ...(typeof fields.player === 'string' && { player: fields.player }),
    };
  } catch {
    return {};
  }
}

export function addVoiceCommands(program: Command, context: TransferCommandContext): void {
  const { io } = context;

  context
    .withConnectionOptions(
      program
        .command('send-voice')
        .description(t('cli.sendVoice'))
        .argument('<args...>', t('cli.sendVoiceArgs'))
        .option('--to <nick>', t('cli.sendVoiceTo')),
    )
    .action((args: string[], flags: Flags & { to?: string }) => {
      context.setAction(async () => {
        const options = context.settings(flags);
        const usage = t('cli.sendVoiceUsage');
        return withUploadSource(io, args, flags.to, usage, async ({ target, file }) => {
          const bar = progressBar(io, '⇡ voice');
          const room = 'room' in target ? target.room : undefined;
          const result = await sendVoice({
            endpoint: options,
            identity: { nick: options.nick, loginToken: options.token ?? null, ...(room !== undefined && { join: room }) },
            input: file,
            ...target,
            env: io.env,
            onProgress: (p) => bar.update(p),
          }).finally(() => bar.stop());
          if (result.note) io.stderr.write(t('cli.error', { message: result.note }) + '\n');
          io.stdout.write(`${result.file}\n`);
          const what = result.format === 'opus' ? 'Opus' : 'WAV';
          const duration = formatDuration(result.durationMs / 1000);
          io.stderr.write(t('cli.sentVoice', { duration, format: what, size: formatSize(result.size), file: result.file }) + '\n');
          return ExitCode.ok;
        });
      });
    });

  context
    .withConnectionOptions(
      program
        .command('play')
        .description(t('cli.play'))
        .argument('<id>', t('cli.playId')),
    )
    .action((id: string, flags: Flags) => {
      context.setAction(async () => {
        const options = context.settings(flags);
        const player = findPlayer(io.env, voiceSettings(io.env));
        const path = await fetchVoice({ endpoint: options, identity: { nick: options.nick, loginToken: options.token ?? null }, file: id, env: io.env });
        const playback = await startPlayer(player, path, io.env);
        const failure = playerFailure(player.program, await playback.ended);
        if (failure) throw new ClientError('audio_failed', failure);
        return ExitCode.ok;
      });
    });
}
