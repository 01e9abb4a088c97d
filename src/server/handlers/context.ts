// What a handler sees of the server: its limits, and the state it may read and change, through the backend.

import type { ClientMessage, ClientType } from '../../protocol/index.js';
import type { ServerConfig } from '../config.js';
import type { FileStore } from '../files/store.js';
import type { Logger } from '../log.js';
import type { Session } from '../session.js';
import type { Backend } from '../state/backend.js';
import type { LastAuthorship } from '../state/conversation.js';

export interface ServerContext {
  readonly config: ServerConfig;
  readonly version: string;
  readonly log: Logger;
  /** Nicks, rooms and fan-out: this node's memory, or the cluster's through Redis. */
  readonly backend: Backend;
  readonly files: FileStore;
  /** attach token -> this node's session it lets another connection act for (other nodes': backend.tokens). */
  readonly attachTokens: Map<string, Session>;
  /** The last room message's authorship, given again to the same sender's next one (handlers/conversation.ts). */
  readonly lastAuthorship: LastAuthorship;
}

/**
 * One client message type's rule. It answers at once, or returns a promise: the connection's further input then
 * waits until it settles, so a connection's requests are handled in order.
 */
export type Handler<T extends ClientType> = (
  ctx: ServerContext,
  session: Session,
  message: Extract<ClientMessage, { type: T }>,
) => void | Promise<void>;
