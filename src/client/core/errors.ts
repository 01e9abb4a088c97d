// Typed client errors: a stable code for tests and scripts, the exit code the CLI ends with, words for people.

export const ExitCode = {
  ok: 0,
  /** The server answered with an error, or the connection was lost. */
  failed: 1,
  /** Bad usage: a bad room name, a bad nick, a bad option or config file. */
  usage: 2,
  /** No chat-server at host:port. */
  unavailable: 3,
  nickTaken: 4,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export type ClientErrorCode =
  | 'connect_failed'
  /** A TLS certificate that is not the one pinned, or that --tls-ca does not vouch for. */
  | 'tls_untrusted'
  | 'connection_lost'
  | 'nick_taken'
  | 'bad_nick'
  | 'bad_room'
  | 'bad_config'
  | 'server_error'
  | 'timeout'
  /** No recorder, player or audio tool to run (voice messages): the message says what to install. */
  | 'missing_tool'
  /** A recorder or player that ran and failed (no sound device, say). */
  | 'audio_failed';

const EXIT_CODES: Record<ClientErrorCode, ExitCode> = {
  connect_failed: ExitCode.unavailable,
  tls_untrusted: ExitCode.failed,
  connection_lost: ExitCode.failed,
  nick_taken: ExitCode.nickTaken,
  bad_nick: ExitCode.usage,
  bad_room: ExitCode.usage,
  bad_config: ExitCode.usage,
  server_error: ExitCode.failed,
  timeout: ExitCode.failed,
  missing_tool: ExitCode.failed,
  audio_failed: ExitCode.failed,
};

export class ClientError extends Error {
  override readonly name = 'ClientError';
  readonly exitCode: ExitCode;

  constructor(
    readonly code: ClientErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.exitCode = EXIT_CODES[code];
  }
}
