// `chat-server`: flags in, a listening ChatServer out (or, with --workers, a primary that forks them).

import { Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_CONFIG, defaultDataDir } from './config.js';
import { createLogger, type LogFormat } from './log.js';
import { ChatServer, VERSION } from './server.js';
import { isPrimaryOf, runPrimary } from './cluster/workers.js';
import { startMemoryTrim } from './memory-trim.js';
import { runAccountsAdmin } from './accounts/admin.js';
import { tlsFromFlags } from './tls-cert.js';

function wholeNumber(value: string): number {
  const number = Number(value);
  if (!Number.isSafeInteger(number) || number < 0) throw new InvalidArgumentError('expected a whole number >= 0');
  return number;
}

function port(value: string): number {
  const number = wholeNumber(value);
  if (number > 65535) throw new InvalidArgumentError('expected a port from 0 to 65535');
  return number;
}

export function buildProgram(): Command {
  const d = DEFAULT_CONFIG;
  return new Command('chat-server')
    .description('Serve chat rooms over TCP, one JSON object per line (see docs/protocol.md).')
    .version(`chat-server ${VERSION}`, '-v, --version')
    .option('-p, --port <port>', 'TCP port to listen on (0 picks a free one)', port, d.port)
    .option('-H, --host <address>', 'address to listen on; 0.0.0.0 for every interface', d.host)
    .option('--max-line <bytes>', 'longest accepted line', wholeNumber, d.maxLineBytes)
    .option('--max-text <chars>', 'longest message text', wholeNumber, d.maxTextChars)
    .option('--history <n>', 'messages kept per room for late joiners', wholeNumber, d.historyPerRoom)
    .option('--rate-limit <n>', 'lines per second per connection; 0 turns flood control off', wholeNumber, d.rateLimit)
    .option('--burst <n>', 'lines a connection may send at once before the rate applies', wholeNumber, d.rateBurst)
    .option('--sendq <bytes>', 'output owed to one client, every byte of it, before it is cut off', wholeNumber, d.sendqBytes)
    .option('--members-list <n>', 'nicks in one members reply; a bigger room\'s says how many in all', wholeNumber, d.membersListMax)
    .option('--quiet-room <n>', 'a room with more members than this announces no joins and leaves', wholeNumber, d.quietRoomMembers)
    .option('--rooms-page <n>', 'rooms in one reply to rooms; more come in further pages', wholeNumber, d.roomsPageMax)
    .option('--reply-history <bytes>', 'history one reply carries at most (a join, a history page)', wholeNumber, d.replyHistoryBytes)
    .option('--ping-interval <seconds>', 'ping a client after this much silence; 0 disables', wholeNumber, d.pingIntervalMs / 1000)
    .option('--ping-timeout <seconds>', 'drop a client silent this long after a ping', wholeNumber, d.pingTimeoutMs / 1000)
    .option('--max-connections <n>', 'open connections at once', wholeNumber, d.maxConnections)
    .option('--max-rooms-per-address <n>', 'rooms one address may have opened at once; 0: no limit', wholeNumber, d.maxRoomsPerAddress)
    .option('--max-per-address <n>', 'open connections from one address (IPv4, or IPv6 /64); 0: no limit', wholeNumber, d.maxConnectionsPerAddress)
    .option('--connect-rate <n>', 'new connections per second from one address, after a burst; 0: no limit', wholeNumber, d.connectRatePerAddress)
    .option('--address-rate-limit <n>', 'lines per second from all the connections of one address; 0: no limit', wholeNumber, d.rateLimitPerAddress)
    .option('--flood-ban <seconds>', 'an address whose connection was cut off for flooding waits this long, doubled each time; 0: no ban', wholeNumber, d.floodBanMs / 1000)
    .option('--line-timeout <seconds>', 'a line must end this soon after its first byte; 0: no limit', wholeNumber, d.lineTimeoutMs / 1000)
    .option('--first-line-timeout <seconds>', 'a connection that sends no line this soon is closed; 0: no limit', wholeNumber, d.firstLineTimeoutMs / 1000)
    .option('--max-file-size <bytes>', 'largest file accepted', wholeNumber, d.maxFileBytes)
    .option('--file-quota <bytes>', 'total bytes the file store may hold', wholeNumber, d.fileQuotaBytes)
    .option('--file-expiry-days <days>', 'shared files are forgotten after this many days', wholeNumber, d.fileExpiryDays)
    .option(
      '--disk-reserve <bytes>',
      'disk space uploads must leave free, so history and the system keep room; an upload that would eat into it gets no_space',
      wholeNumber,
      d.diskReserveBytes,
    )
    .option('--motd <text>', 'message of the day, sent in welcome', d.motd)
    .option('--data-dir <path>', `where history (history.sqlite) and files are kept (default ${defaultDataDir()})`)
    .option('--memory', 'keep history in memory only: nothing is written to disk')
    .option('--retain-messages <n>', 'messages kept per room on disk (in Redis with --redis); 0 keeps all', wholeNumber, d.retainMessages)
    .option('--retain-days <days>', 'messages older than this are deleted from disk (from Redis with --redis); 0 keeps them forever', wholeNumber, d.retainDays)
    .option('--redis <url>', 'join a cluster of chat-servers through Redis, e.g. redis://127.0.0.1:6379 (docs/scale-out.md)')
    .option('--workers <n>', 'run N processes behind the one port, joined through --redis', wholeNumber, 1)
    .option('--storage-thread', 'write history and its search index on a thread of their own: the second core for one server (docs/scale-out.md)')
    .addOption(new Option('--accounts <mode>', 'off, optional (guests chat under nicks no account owns) or required (log in first)').choices(['off', 'optional', 'required']).default(d.accounts))
    .addOption(new Option('--cluster-heartbeat <ms>', 'how often a node tells Redis it is alive').argParser(wholeNumber).default(d.clusterHeartbeatMs).hideHelp())
    .option('--cluster-history <n>', 'messages kept per room in Redis', wholeNumber, d.clusterHistory)
    .option(
      '--tls',
      'serve TLS too, on the same port (the first byte tells TLS from plain), with a self-signed certificate made once in <data-dir>/tls (with --memory: one for this run); its SHA-256 fingerprint is logged, for clients to check',
    )
    .option('--tls-cert <file>', 'serve TLS with this certificate (PEM; with --tls-key), e.g. one a CA signed, instead of a self-signed one')
    .option('--tls-key <file>', 'the private key of --tls-cert (PEM, without a passphrase)')
    .addOption(
      new Option('--plain <where>', 'plain TCP from anywhere (on), or from this machine only (loopback): others must use TLS, so nothing crosses a network in clear')
        .choices(['on', 'loopback'])
        .default(d.plain),
    )
    .option(
      '--tls-handshake-timeout <seconds>',
      'a TLS handshake must be done this soon after its first byte (slowloris); 0: no limit',
      wholeNumber,
      d.tlsHandshakeTimeoutMs / 1000,
    )
    .option('--web <port>', 'serve the browser gateway on this port too: the page at /chat/, WebSockets at /ws (https and wss with TLS on)', port)
    .addOption(new Option('--log-format <format>', 'log format on stderr').choices(['pretty', 'json']).default('pretty'))
    .addOption(new Option('--log-level <level>', 'least severe log level shown').choices(['debug', 'info', 'warn', 'error', 'silent']).default('info'))
    .addHelpText(
      'after',
      '\nAccounts from the shell: chat-server accounts list|add|remove|reset-password (chat-server accounts --help).\n\nExamples:\n  chat-server --port 8000\n  chat-server --host 0.0.0.0 --log-format json\n  chat-server --rate-limit 0   # flood control off, for benchmarks\n  chat-server --max-per-address 0 --connect-rate 0   # thousands of test clients from one host\n  chat-server --host 0.0.0.0 --tls --plain loopback   # TLS for everyone but this machine',
    );
}

export interface RunningServer {
  /** null in the primary process of --workers, which only looks after the workers. */
  server: ChatServer | null;
  port: number;
}

export async function start(argv: string[]): Promise<RunningServer> {
  const program = buildProgram().parse(argv);
  const o = program.opts();
  const log = createLogger(o.logFormat as LogFormat, o.logLevel as string);
  if (o.workers > 1 && !o.redis) {
    log.error('--workers needs --redis: the workers share rooms, nicks and history through Redis (for the second core of one server: --storage-thread)');
    process.exitCode = 1;
    throw new Error('--workers without --redis');
  }
  const dataDir = o.memory ? null : ((o.dataDir as string | undefined) ?? defaultDataDir());
  if (o.storageThread && (!dataDir || o.redis)) {
    log.warn('--storage-thread does nothing here: history is not written to disk (--memory), or Redis keeps it (--redis)');
  }
  let tls;
  try {
    if (o.tls && !o.tlsCert && !dataDir && o.workers > 1) {
      throw new Error('--tls with --memory would give each worker a certificate of its own: give --data-dir, or --tls-cert and --tls-key');
    }
    // Before the workers are forked: the certificate is made once, and they all serve it.
    tls = await tlsFromFlags(o, dataDir);
    if (o.plain === 'loopback' && !tls) throw new Error('--plain loopback needs TLS for everyone else: add --tls, or --tls-cert and --tls-key');
  } catch (error) {
    log.error(`cannot start: ${(error as Error).message}`);
    process.exitCode = 1;
    throw error;
  }
  if (tls) {
    const made = tls.created ? ` (made now in ${tls.where})` : ` (${tls.where})`;
    log.info({ fingerprint: tls.fingerprint, cert: tls.where, created: tls.created }, `TLS certificate SHA-256 fingerprint ${tls.fingerprint}${made}`);
  }
  if (isPrimaryOf(o.workers)) {
    runPrimary(o.workers, log);
    return { server: null, port: o.port };
  }
  let server: ChatServer;
  try {
    server = new ChatServer({
      log,
      maxLineBytes: o.maxLine,
      maxTextChars: o.maxText,
      historyPerRoom: o.history,
      rateLimit: o.rateLimit,
      rateBurst: o.burst,
      sendqBytes: o.sendq,
      replyHistoryBytes: o.replyHistory,
      roomsPageMax: Math.max(1, o.roomsPage),
      membersListMax: o.membersList,
      quietRoomMembers: o.quietRoom,
      pingIntervalMs: o.pingInterval * 1000,
      pingTimeoutMs: o.pingTimeout * 1000,
      maxConnections: o.maxConnections,
      maxConnectionsPerAddress: o.maxPerAddress,
      maxRoomsPerAddress: o.maxRoomsPerAddress,
      connectRatePerAddress: o.connectRate,
      rateLimitPerAddress: o.addressRateLimit,
      floodBanMs: o.floodBan * 1000,
      lineTimeoutMs: o.lineTimeout * 1000,
      firstLineTimeoutMs: o.firstLineTimeout * 1000,
      motd: o.motd,
      dataDir,
      retainMessages: o.retainMessages,
      retainDays: o.retainDays,
      redisUrl: (o.redis as string | undefined) ?? null,
      storageThread: Boolean(o.storageThread),
      clusterHeartbeatMs: o.clusterHeartbeat,
      clusterHistory: o.clusterHistory,
      maxFileBytes: o.maxFileSize,
      fileQuotaBytes: o.fileQuota,
      fileExpiryDays: o.fileExpiryDays,
      diskReserveBytes: o.diskReserve,
      accounts: o.accounts,
      tls: tls && { cert: tls.cert, key: tls.key },
      plain: o.plain as 'on' | 'loopback',
      tlsHandshakeTimeoutMs: o.tlsHandshakeTimeout * 1000,
      webPort: (o.web as number | undefined) ?? null,
    });
  } catch (error) {
    // Most likely the history database: a data dir that cannot be written, or a file that is not SQLite.
    log.error(`cannot start: ${(error as Error).message}`);
    process.exitCode = 1;
    throw error;
  }
  let address;
  try {
    address = await server.listen(o.port, o.host);
  } catch (error) {
    const err = error as NodeJS.ErrnoException;
    const hint = err.code === 'EADDRINUSE' ? ` (port ${o.port} is in use: is another chat-server running? try --port)` : '';
    log.error(`cannot listen on ${o.host}:${o.port}: ${err.message}${hint}`);
    await server.close();
    process.exitCode = 1;
    throw error;
  }
  const mib = (bytes: number) => Math.round((bytes / 1048576) * 10) / 10;
  const stopMemoryTrim = startMemoryTrim({
    onTrim: (bytes) => log.debug({ youngMiB: mib(bytes) }, 'quiet: asked for a full collection to give memory back'),
    onShrunk: (bytes) => log.debug({ youngMiB: mib(bytes) }, 'young generation shrunk'),
  });
  const stop = (signal: string) => {
    log.info({ signal }, 'shutting down');
    stopMemoryTrim();
    void server.close().then(() => process.exit(0));
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  return { server, port: address.port };
}

export function run(argv: string[]): void {
  if (argv[2] === 'accounts') {
    void runAccountsAdmin(argv.slice(3), process).then((code) => process.exit(code));
    return;
  }
  start(argv).catch(() => {
    process.exitCode = 1;
  });
}
