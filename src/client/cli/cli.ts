// `chat`: the command line. Thin: main() builds the program, picks the full-screen TUI, line mode or a one-shot
// command, and turns errors into words on stderr and an exit code. bin/chat.js only calls run(process.argv).

import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { ChatClient } from '../core/client.js';
import { ClientError, ExitCode } from '../core/errors.js';
import { exitQuietlyWhenStdoutCloses } from './closed-stdout.js';
import { runLineMode } from './line-mode.js';
import { listFiles, listRooms, sendOnce, whoIsIn } from './oneshot.js';
import { addSearchCommand } from './search-command.js';
import { configPath, readConfigFile, resolveOptions, type ConnectOptions } from './options.js';
import { columns } from '../text/columns.js';
import { formatSize } from '../text/size.js';
import { sanitizeLine } from '../text/sanitize.js';
import type { Io } from './io.js';
import { addTransferCommands } from './transfer-commands.js';
import { addVoiceCommands, voiceSettings } from './voice-commands.js';
import { addAccountCommands, keptTokens, tokenKeeper, withKeptToken } from './account-commands.js';
import { pinNotesIn, type TlsFlags } from './tls-options.js';

const ENV_HELP = `
Connection settings come from, in order: the flags, the environment variables
CHAT_HOST, CHAT_PORT, CHAT_NICK, CHAT_TLS=1 and CHAT_TLS_CA, the config file, then
the defaults (localhost, port 8000, your login name, plain TCP). The config file is
$CHAT_CONFIG, else $XDG_CONFIG_HOME/chat/config.json, else ~/.config/chat/config.json,
for example: {"host": "localhost", "port": 8000, "nick": "alice", "tls": true}
NO_COLOR turns colours off.

TLS: the first connection to a server shows its certificate's SHA-256 fingerprint
(compare it with the one chat-server logs at start) and pins it in
$XDG_CONFIG_HOME/chat/known_servers (else ~/.config/chat/known_servers), as ssh does.
A server whose certificate changed is refused; if the change is expected, remove
its line from that file. --tls-ca FILE verifies the server with that CA instead.

Exit codes: 0 ok, 1 failed (server error, connection lost), 2 bad usage, bad room
name or bad nick, 3 no server at host:port, 4 nick taken.`;

function connectionOptions(command: Command): Command {
  return command
    .option(
      '-H, --host <host>',
      'chat-server HOST or HOST:PORT; several (repeat it, or a,b:8001) for the full-screen client to fail over (default: localhost; env CHAT_HOST)',
      (value: string, previous?: string) => (previous ? `${previous},${value}` : value),
    )
    .option('-p, --port <port>', 'chat-server port (default: 8000; env CHAT_PORT)')
    .option('-n, --nick <nick>', 'your nick (default: config file, else login name; env CHAT_NICK)')
    .option('--tls', 'connect over TLS, pinning the server\'s certificate on first use (see TLS below; env CHAT_TLS=1)')
    .option('--tls-ca <file>', 'connect over TLS, verifying the server with this CA (PEM) instead of pinning (env CHAT_TLS_CA)')
    .addHelpText('after', ENV_HELP);
}

function isColourTerminal(stream: { isTTY?: boolean }, env: Io['env']): boolean {
  return !!stream.isTTY && (env.NO_COLOR === undefined || env.NO_COLOR === '');
}

/** The package version: package.json is three levels up from src/client/cli, four from dist/src/client/cli. */
function version(): string {
  for (const up of ['../../../package.json', '../../../../package.json']) {
    try {
      return (JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')) as { version: string }).version;
    } catch {
      // try the next level up
    }
  }
  return '0.0.0';
}

async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8').replace(/\n+$/, '');
}

/** Run the CLI; resolves with the exit code. */
export async function main(argv: string[], io: Io): Promise<number> {
  let action: (() => Promise<number>) | null = null;
  const settings = (flags: { host?: string; port?: string; nick?: string } & TlsFlags): ConnectOptions => {
    const options = withKeptToken(resolveOptions(flags, io.env, readConfigFile(configPath(io.env))), io.env);
    if (options.tls) options.tls.onPinned = (note) => io.stderr.write(`chat: ${note}\n`);
    return options;
  };

  const program = new Command('chat')
    .description('Chat in rooms on a chat-server, full-screen in a terminal or line by line in scripts.')
    .version(`chat ${version()}`, '-v, --version')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    })
    .showHelpAfterError('(chat --help for usage)')
    .addHelpText(
      'after',
      `\nExamples:\n  chat join test                 full-screen chat in the room "test"\n  echo hi | chat join test       line mode: send stdin lines, print events\n  chat send test "build passed"  one message, exit 0 once the server echoed it\n  chat send --to bob "psst"      a private message\n  chat rooms; chat who test\n${ENV_HELP}`,
    );

  connectionOptions(
    program
      .command('join')
      .description('join rooms: full-screen on a terminal; line mode when stdin or stdout is not a terminal')
      .argument('<rooms...>', 'rooms to join (the first one is shown)')
      .option('--json', 'line mode, printing the raw protocol lines')
      .option('--line', 'line mode even on a terminal'),
  ).action((rooms: string[], flags: { host?: string; port?: string; nick?: string; json?: boolean; line?: boolean }) => {
    action = async () => {
      const options = settings(flags);
      const lineMode = !!flags.json || !!flags.line || !io.stdin.isTTY || !io.stdout.isTTY;
      const client = new ChatClient({
        ...options,
        rooms,
        // Interactive, or a nick nobody chose: take another when it is taken. A chosen nick in a script: fail.
        onNickTaken: lineMode && options.nickChosen ? 'fail' : 'suggest',
        holdWhileReconnecting: lineMode,
        voice: { env: io.env, tools: voiceSettings(io.env) },
        loginToken: keptTokens(io.env),
        keepToken: tokenKeeper(io.env),
        ...(flags.json ? { onRawLine: (line: string) => io.stdout.write(line + '\n') } : {}),
      });
      if (lineMode) {
        return runLineMode(client, {
          stdin: io.stdin,
          stdout: io.stdout,
          stderr: io.stderr,
          colour: isColourTerminal(io.stdout, io.env),
          json: !!flags.json,
        });
      }
      const pins = options.tls && pinNotesIn(client.state, options.tls);
      await client.start();
      pins?.shown();
      const { runTui } = await import('../view/tui.js');
      return runTui(client, { colour: isColourTerminal(io.stdout, io.env) });
    };
  });

  connectionOptions(
    program
      .command('send')
      .description('send one message and exit once the server has echoed it (the text is read from stdin when not given)')
      .argument('[words...]', 'ROOM TEXT..., or TEXT... with --to')
      .option('--to <nick>', 'send a private message to NICK instead of a room'),
  ).action((words: string[], flags: { host?: string; port?: string; nick?: string; to?: string }) => {
    action = async () => {
      const options = settings(flags);
      const room = flags.to === undefined ? words[0] : undefined;
      if (flags.to === undefined && room === undefined) {
        throw new ClientError('bad_config', 'usage: chat send ROOM TEXT... or chat send --to NICK TEXT...');
      }
      let text = (flags.to === undefined ? words.slice(1) : words).join(' ');
      if (text === '' && !io.stdin.isTTY) text = await readAll(io.stdin);
      await sendOnce(options, flags.to !== undefined ? { to: flags.to } : { room: room! }, text);
      return ExitCode.ok;
    };
  });

  connectionOptions(
    program.command('rooms').description('list the rooms on the server and how many are in each').option('--json', 'print the raw protocol line'),
  ).action((flags: { host?: string; port?: string; nick?: string; json?: boolean }) => {
    action = async () => {
      const result = await listRooms(settings(flags));
      if (flags.json) io.stdout.write(result.line + '\n');
      else {
        for (const line of columns(result.rooms.map((r) => [sanitizeLine(r.room), String(r.members)]), ['left', 'right'])) {
          io.stdout.write(`${line}\n`);
        }
      }
      return ExitCode.ok;
    };
  });

  connectionOptions(
    program
      .command('files')
      .description('list the files shared in a room (or, without one, your private files): id, size, sender, name')
      .argument('[room]')
      .option('--json', 'print the raw protocol line'),
  ).action((room: string | undefined, flags: { host?: string; port?: string; nick?: string; json?: boolean }) => {
    action = async () => {
      const result = await listFiles(settings(flags), room);
      if (flags.json) io.stdout.write(result.line + '\n');
      else {
        const rows = result.files.map((f) => [f.file, formatSize(f.size), sanitizeLine(f.from), sanitizeLine(f.name)]);
        for (const line of columns(rows, ['left', 'right'])) io.stdout.write(`${line}\n`);
      }
      return ExitCode.ok;
    };
  });

  connectionOptions(
    program.command('who').description("list a room's members, one per line").argument('<room>').option('--json', 'print the raw protocol line'),
  ).action((room: string, flags: { host?: string; port?: string; nick?: string; json?: boolean }) => {
    action = async () => {
      const result = await whoIsIn(settings(flags), room);
      if (flags.json) io.stdout.write(result.line + '\n');
      else for (const nick of result.nicks) io.stdout.write(`${sanitizeLine(nick)}\n`);
      return ExitCode.ok;
    };
  });

  addTransferCommands(program, {
    io,
    settings,
    withConnectionOptions: connectionOptions,
    setAction: (run) => (action = run),
  });
  addVoiceCommands(program, { io, settings, withConnectionOptions: connectionOptions, setAction: (run) => (action = run) });

  addSearchCommand(program, { io, settings, withConnectionOptions: connectionOptions, setAction: (run) => (action = run) });

  addAccountCommands(program, {
    io,
    settings,
    withConnectionOptions: connectionOptions,
    setAction: (run) => (action = run),
  });

  for (const sub of program.commands) sub.exitOverride().configureOutput({
    writeOut: (text) => io.stdout.write(text),
    writeErr: (text) => io.stderr.write(text),
  });

  try {
    await program.parseAsync(argv);
    if (!action) {
      program.outputHelp();
      return ExitCode.usage;
    }
    return await (action as () => Promise<number>)();
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    if (error instanceof ClientError) {
      io.stderr.write(`chat: ${error.message}\n`);
      return error.exitCode;
    }
    io.stderr.write(`chat: ${error instanceof Error ? error.message : String(error)}\n`);
    return ExitCode.failed;
  }
}

export function run(argv: string[]): void {
  exitQuietlyWhenStdoutCloses(process.stdout, (code) => process.exit(code));
  main(argv, { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env }).then(
    (code) => {
      process.exitCode = code;
      // Sockets and stdin may still hold the loop open after a one-shot command or a closed TUI.
      setImmediate(() => process.exit(code));
    },
  );
}

