// `chat send-voice` and `chat play`: voice messages from and to the shell (docs/protocol.md "Voice messages").

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
        .description('send an audio file as a voice message into a room (or privately with --to); encoded as Opus when opusenc or ffmpeg is here. Prints its id')
        .argument('<args...>', 'ROOM FILE, or FILE with --to (FILE - reads stdin)')
        .option('--to <nick>', 'send the voice message privately to NICK'),
    )
    .action((args: string[], flags: Flags & { to?: string }) => {
      context.setAction(async () => {
        const options = context.settings(flags);
        const usage = 'usage: chat send-voice ROOM FILE, or chat send-voice --to NICK FILE';
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
          if (result.note) io.stderr.write(`chat: ${result.note}\n`);
          io.stdout.write(`${result.file}\n`);
          const what = result.format === 'opus' ? 'Opus' : 'WAV';
          io.stderr.write(`sent a voice message of ${formatDuration(result.durationMs / 1000)} (${what}, ${formatSize(result.size)}) as ${result.file}\n`);
          return ExitCode.ok;
        });
      });
    });

  context
    .withConnectionOptions(
      program
        .command('play')
        .description('play a voice message (or any audio file shared) by its id: downloaded once into a cache, then played')
        .argument('<id>', 'the file id (shown in the room, or printed by chat send-voice)'),
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
