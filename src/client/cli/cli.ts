// `chat`: the command line. Thin: main() builds the program, picks the full-screen TUI, line mode or a one-shot
// command, and turns errors into words on stderr and an exit code. bin/chat.js only calls run(process.argv).

import { chooseLanguage, parseLanguage, setLanguage, t } from '../text/i18n/index.js';
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { ChatClient } from '../core/client.js';
import { ClientError, ExitCode } from '../core/errors.js';
import { exitQuietlyWhenStdoutCloses } from './closed-stdout.js';
import { addSearchCommand } from './search-command.js';
import { configPath, readConfigFile, resolveOptions, type ConnectOptions } from './options.js';
import { columns } from '../text/columns.js';
import { formatSize } from '../text/size.js';
import { sanitizeLine } from '../text/sanitize.js';
import type { Io } from './io.js';
import { addTransferCommands } from './transfer-commands.js';
import { addVoiceCommands, voiceSettings } from './voice-commands.js';
import { addUnreadCommand } from './unread-command.js';
import { addAccountCommands, keptTokens, tokenKeeper, withKeptToken } from './account-commands.js';
import { pinNotesIn, type TlsFlags } from './tls-options.js';
import { IgnoreList, ignorePath } from '../core/ignore.js';
import { keptSessionsPath, readKeptSession } from '../core/kept-session.js';
import { keepWindowSession } from './window-session.js';
import { logBuffers } from './logging.js';
import { commanderError, inOurWords } from './commander-words.js';
import { NotifyLevels, notifyLevelsPath } from '../core/notify.js';
import { serverKey } from '../core/known-servers.js';
import { boundOldSpace } from './old-space-bound.js';

// Line mode and the one-shots are loaded by the commands that use them: each module loaded before `chat join`
// connects delays the first screen.
const lineModeModule = () => import('./line-mode.js');
const oneShots = () => import('./oneshot.js');

/** The --lang value in the command line (before or after the command), read before the program is built in it. */
function langFlag(argv: readonly string[]): string | undefined {
  let lang: string | undefined;
  for (let i = 2; i < argv.length; i++) {
    if (argv[i] === '--') break;
    if (argv[i] === '--lang') lang = argv[++i] ?? '';
    else if (argv[i]!.startsWith('--lang=')) lang = argv[i]!.slice('--lang='.length);
  }
  return lang;
}

/** The config file's "lang"; a config file with mistakes is said later, when its settings are needed. */
function configuredLanguage(env: Io['env']): string | undefined {
  try {
    return readConfigFile(configPath(env)).lang;
  } catch {
    return undefined;
  }
}

function connectionOptions(command: Command): Command {
  return command
    .option('-H, --host <host>', t('cli.host'), (value: string, previous?: string) => (previous ? `${previous},${value}` : value))
    .option('-p, --port <port>', t('cli.port'))
    .option('-n, --nick <nick>', t('cli.nick'))
    .option('--tls', t('cli.tls'))
    .option('--tls-ca <file>', t('cli.tlsCa'))
    .option('--lang <lang>', t('cli.lang'))
    .addHelpText('after', t('cli.envHelp'));
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
  const lang = langFlag(argv);
  if (lang !== undefined && parseLanguage(lang) === null) {
    setLanguage(chooseLanguage(undefined, io.env, configuredLanguage(io.env)));
    io.stderr.write(t('cli.error', { message: t('cli.badLang', { value: sanitizeLine(lang) }) }) + '\n');
    return ExitCode.usage;
  }
  setLanguage(chooseLanguage(lang, io.env, configuredLanguage(io.env)));
  let action: (() => Promise<number>) | null = null;
  const settings = (flags: { host?: string; port?: string; nick?: string } & TlsFlags): ConnectOptions => {
    const resolved = withKeptToken(resolveOptions(flags, io.env, readConfigFile(configPath(io.env))), io.env);
    const options = { ...resolved, session: readKeptSession(keptSessionsPath(io.env), resolved) };
    if (options.tls) options.tls.onPinned = (note) => io.stderr.write(t('cli.error', { message: note }) + '\n');
    return options;
  };

  const program = inOurWords(new Command('chat'))
    .description(t('cli.description'))
    .version(`chat ${version()}`, '-v, --version', t('cli.versionOption'))
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      outputError: (text, write) => write(commanderError(text)),
    })
    .option('--lang <lang>', t('cli.lang'))
    .showHelpAfterError(t('cli.helpAfterError'))
    .addHelpText('after', `${t('cli.examples')}${t('cli.envHelp')}`);

  connectionOptions(
    program
      .command('join')
      .description(t('cli.join'))
      .argument('<rooms...>', t('cli.joinRooms'))
      .option('--json', t('cli.joinJson'))
      .option('--line', t('cli.joinLine'))
      .option('--no-log', t('cli.joinNoLog')),
  ).action((rooms: string[], flags: { host?: string; port?: string; nick?: string; json?: boolean; line?: boolean; log?: boolean }) => {
    action = async () => {
      const options = settings(flags);
      const lineMode = !!flags.json || !!flags.line || !io.stdin.isTTY || !io.stdout.isTTY;
      const client = new ChatClient({
        ...options,
        rooms,
        // Interactive, or a nick nobody chose: take another when it is taken. A chosen nick in a script: fail.
        onNickTaken: lineMode && options.nickChosen ? 'fail' : 'suggest',
        holdWhileReconnecting: lineMode,
        reportReads: !lineMode,
        voice: { env: io.env, tools: voiceSettings(io.env) },
        loginToken: keptTokens(io.env),
        keepToken: tokenKeeper(io.env),
        notifyLevels: new NotifyLevels(notifyLevelsPath(io.env), serverKey(options.host, options.port)),
        ...(flags.json ? { onRawLine: (line: string) => io.stdout.write(line + '\n') } : {}),
      });
      client.state.ignore = new IgnoreList(ignorePath(io.env));
      keepWindowSession(client, io.env);
      const stopBound = boundOldSpace();
      client.onClose(stopBound);
      if (lineMode) {
        const { runLineMode } = await lineModeModule();
        return runLineMode(client, {
          stdin: io.stdin,
          stdout: io.stdout,
          stderr: io.stderr,
          colour: isColourTerminal(io.stdout, io.env),
          json: !!flags.json,
        });
      }
      const config = readConfigFile(configPath(io.env));
      const logs = flags.log !== false && config.log !== false ? logBuffers(client, io.env) : null;
      try {
        const pins = options.tls && pinNotesIn(client.state, options.tls);
        // While the client connects, the full screen's modules load, the terminal is asked how wide it draws
        // emoji, and the screen is drawn: the room is on it as soon as the join reply arrives. When the start
        // fails, the screen is gone again before the error is written.
        const starting = client.start().then(() => pins?.shown());
        starting.catch(() => {});
        const tui = import('../view/tui.js');
        const probed = tui.then((view) => view.probeWidths());
        probed.catch(() => {});
        const { runTui } = await tui.catch(async (error: unknown) => {
          await starting;
          throw error;
        });
        return await runTui(client, { colour: isColourTerminal(io.stdout, io.env), env: io.env, notifySend: config.notifySend ?? false }, probed, starting);
      } finally {
        await logs?.close();
      }
    };
  });

  // `chat join ROOM...`, the full screen, is what a user starts and waits for: the other ~15 commands (with ~90
  // options) are not made for it (issue 18: the room on screen <= 200 ms after start). Its help, its errors and
  // its options are the same either way; `chat --help`, `chat help join` and the rest have them all.
  if (argv[2] !== 'join') {
    connectionOptions(
      program
        .command('send')
        .description(t('cli.send'))
        .argument('[words...]', t('cli.sendWords'))
        .option('--to <nick>', t('cli.sendTo')),
    ).action((words: string[], flags: { host?: string; port?: string; nick?: string; to?: string }) => {
      action = async () => {
        const options = settings(flags);
        const room = flags.to === undefined ? words[0] : undefined;
        if (flags.to === undefined && room === undefined) {
          throw new ClientError('bad_config', t('cli.sendUsage'));
        }
        let text = (flags.to === undefined ? words.slice(1) : words).join(' ');
        if (text === '' && !io.stdin.isTTY) text = await readAll(io.stdin);
        const { sendOnce } = await oneShots();
        await sendOnce(options, flags.to !== undefined ? { to: flags.to } : { room: room! }, text);
        return ExitCode.ok;
      };
    });

    connectionOptions(
      program.command('rooms').description(t('cli.rooms')).option('--json', t('cli.json')),
    ).action((flags: { host?: string; port?: string; nick?: string; json?: boolean }) => {
      action = async () => {
        const { listRooms } = await oneShots();
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
        .description(t('cli.files'))
        .argument('[room]')
        .option('--json', t('cli.json')),
    ).action((room: string | undefined, flags: { host?: string; port?: string; nick?: string; json?: boolean }) => {
      action = async () => {
        const { listFiles } = await oneShots();
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
      program.command('who').description(t('cli.who')).argument('<room>').option('--json', t('cli.json')),
    ).action((room: string, flags: { host?: string; port?: string; nick?: string; json?: boolean }) => {
      action = async () => {
        const { whoIsIn } = await oneShots();
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
    addUnreadCommand(program, { io, settings, withConnectionOptions: connectionOptions, setAction: (run) => (action = run) });

    addSearchCommand(program, { io, settings, withConnectionOptions: connectionOptions, setAction: (run) => (action = run) });

    addAccountCommands(program, {
      io,
      settings,
      withConnectionOptions: connectionOptions,
      setAction: (run) => (action = run),
    });
  }

  for (const sub of program.commands) sub.exitOverride().configureOutput({
    writeOut: (text) => io.stdout.write(text),
    writeErr: (text) => io.stderr.write(text),
    outputError: (text, write) => write(commanderError(text)),
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
      io.stderr.write(t('cli.error', { message: error.message }) + '\n');
      return error.exitCode;
    }
    io.stderr.write(t('cli.error', { message: error instanceof Error ? error.message : String(error) }) + '\n');
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

