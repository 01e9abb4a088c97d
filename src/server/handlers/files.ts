// Handlers for file transfer (docs/protocol.md "Files"): upload, upload_status, download, files, attach.

import { ByeCode, ErrorCode, ProtocolError, type UploadRequest } from '../../protocol/index.js';
import { isOutOfSpace } from '../files/disk.js';
import { FileError, storageFailure, toFileEvent, type FileRecord, type Upload } from '../files/store.js';
import { voiceFields } from '../files/voice.js';
import type { Session } from '../session.js';
import type { NickHolder, RecordDraft } from '../state/backend.js';
import type { Handler, ServerContext } from './context.js';
import { actingUser, ensureNick } from './identity.js';
import { actsIn, tokenUser } from './tokens.js';
import { withRoomOpen } from './post.js';
import { welcome } from './replies.js';

/**
 * Refusals of a header after which the upload's bytes are not worth reading to stay in step: the connection is
 * closed. Once bytes are flowing, a failure (the disk fills, others fill the quota) is answered at once and the
 * rest of the announced bytes are skipped: the connection goes on.
 */
const UNSKIPPABLE = new Set<ErrorCode>([ErrorCode.too_large, ErrorCode.quota_exceeded, ErrorCode.no_space]);

const upload: Handler<'upload'> = async (ctx, session, request) => {
  if (!session.owner) await ensureNick(ctx, session);
  const user = actingUser(session);
  const offset = request.offset ?? 0;
  const length = request.size - offset;
  let receiving: Upload;
  /** The recipient of a private file: their nick as they spell it, and who the file belongs to on their side. */
  let to: NickHolder | undefined;
  try {
    if (request.room !== undefined && !(await actsIn(ctx, session, request.room))) {
      throw new FileError(ErrorCode.not_in_room, `join ${JSON.stringify(request.room)} before sharing a file in it`);
    }
    if (request.to !== undefined) {
      to = (await ctx.backend.lookup(request.to)) ?? undefined;
      if (to === undefined) throw new FileError(ErrorCode.no_such_user, `nobody is connected as ${JSON.stringify(request.to)}`);
    }
    receiving = ctx.files.beginUpload(request.size, request.sha256, offset, ctx.config.diskReserveBytes);
  } catch (error) {
    if (!(error instanceof FileError)) throw error;
    session.error(error.code, error.message, request.id);
    if (UNSKIPPABLE.has(error.code)) session.close(ByeCode.protocol, 'the refused upload\'s bytes are not worth skipping; reconnect');
    else session.skipRaw(length);
    return;
  }

  let releaseBackpressure: (() => void) | null = null;
  // After the last byte the write stream emits 'finish', not 'drain': release its hold by hand.
  const endBackpressure = () => {
    const release = releaseBackpressure;
    releaseBackpressure = null;
    release?.();
  };
  receiving.onFailure((error) => {
    endBackpressure();
    ctx.log.warn({ conn: session.id, name: request.name, code: error.code, have: offset + receiving.received }, 'upload failed');
    session.error(error.code, error.message, request.id);
  });
  session.takeRaw(length, {
    data(chunk) {
      if (!receiving.write(chunk) && !releaseBackpressure) {
        // The disk is slower than the network: stop reading until the write stream drains.
        releaseBackpressure = session.holdInput();
        receiving.stream.once('drain', endBackpressure);
      }
    },
    end() {
      if (receiving.failure) return; // answered when it failed; the rest was skipped
      const release = session.holdInput();
      endBackpressure();
      finishUpload(ctx, session, request, receiving, to)
        .catch((error) => {
          if (isOutOfSpace(error)) error = storageFailure(error);
          if (error instanceof FileError || error instanceof ProtocolError) session.error(error.code, error.message, request.id);
          else {
            ctx.log.error({ conn: session.id, err: String(error) }, 'upload failed');
            session.error(ErrorCode.bad_request, 'the server could not store the file', request.id);
          }
        })
        .finally(release);
    },
    abort() {
      endBackpressure();
      if (receiving.failure) return;
      receiving.abandon();
      const have = offset + receiving.received;
      ctx.log.info({ conn: session.id, name: request.name, have, size: request.size }, 'short upload');
      session.error(
        ErrorCode.short_upload,
        `the connection ended after ${have} of ${request.size} bytes` +
          (request.sha256 ? '; upload again with "offset" to resume' : '; nothing was kept (resuming needs "sha256")'),
        request.id,
      );
    },
  });
};

async function finishUpload(ctx: ServerContext, session: Session, request: UploadRequest, receiving: Upload, to?: NickHolder): Promise<void> {
  const sha256 = await receiving.finish();
  const user = actingUser(session);
  const base = {
    name: request.name,
    size: request.size,
    sha256,
    from: user.nick,
    fromKey: user.principal,
    ts: new Date().toISOString(),
    ...voiceFields(request),
  };
  let record: FileRecord;
  if (request.room !== undefined) {
    // Numbered like a message: the record first (its id is in the event), then its seq.
    record = ctx.files.add({ ...base, room: request.room });
    const { seq: _none, ...draft } = toFileEvent(record);
    let seq: number;
    try {
      const room = request.room;
      const append = () => Promise.resolve(ctx.backend.append(room, draft as RecordDraft));
      // Acting for a member on another node (handlers/tokens.ts): this node follows the room meanwhile.
      seq = user.rooms.has(room) ? await append() : await withRoomOpen(ctx, room, session.address.key, append, () => new FileError(ErrorCode.too_many_rooms, 'this server holds as many rooms as it may'));
    } catch (error) {
      ctx.files.forget(record.id); // not announced: nobody may know its id
      throw error;
    }
    if (seq > 0) record = ctx.files.setSeq(record.id, seq);
  } else {
    record = ctx.files.add({ ...base, to: to!.nick, toKey: to!.principal });
    const event = toFileEvent(record);
    await ctx.backend.sendPrivate(to!.nick, () => event);
    if (to!.principal !== user.principal) user.send(event);
    if (session !== user) session.send(event);
  }
  session.send({
    type: 'ok',
    ...(request.id !== undefined && { id: request.id }),
    file: record.id,
    ...(record.seq !== undefined && { seq: record.seq }),
  });
  ctx.log.info({ conn: session.id, file: record.id, name: record.name, size: record.size }, 'file stored');
}

const uploadStatus: Handler<'upload_status'> = async (ctx, session, { sha256, size, id }) => {
  const have = await ctx.files.settledPartialBytes(sha256, size);
  session.reply(id, { type: 'upload_status', sha256, size, have });
};

const download: Handler<'download'> = (ctx, session, request) => {
  const record = ctx.files.get(request.file, session.principal);
  if (!record) {
    session.error(ErrorCode.no_such_file, `no file has the id ${JSON.stringify(request.file)} (or it is not yours to fetch)`, request.id);
    return;
  }
  const offset = request.offset ?? 0;
  if (offset > record.size) {
    session.error(ErrorCode.bad_request, `"offset" is past the end of the file (${record.size} bytes)`, request.id);
    return;
  }
  const length = Math.min(request.length ?? record.size - offset, record.size - offset);
  if (!request.raw) {
    const { id: file, name, size, sha256 } = record;
    session.reply(request.id, { type: 'file_data', file, name, size, offset, length, sha256 });
  }
  const release = session.holdInput();
  session
    .sendFileBytes(ctx.files.objectPath(record.sha256), offset, length)
    .then(() => {
      if (request.raw) session.close(null, 'raw download sent');
    })
    .catch((error) => {
      // The header promised bytes that cannot come: the stream cannot be followed any more.
      ctx.log.warn({ conn: session.id, file: record.id, err: String(error) }, 'download failed');
      session.abort(ByeCode.protocol, 'download failed');
    })
    .finally(release);
};

const files: Handler<'files'> = (ctx, session, { room, id }) => {
  const store = ctx.files;
  const records = room !== undefined ? store.roomFiles(room) : store.privateFiles(session.principal);
  session.reply(id, { type: 'files', ...(room !== undefined && { room }), files: records.map(toFileEvent) });
};

const attach: Handler<'attach'> = async (ctx, session, { token, id }) => {
  if (session.nick !== '' || session.rooms.size > 0 || session.owner) {
    session.error(ErrorCode.bad_request, 'attach must be the first thing a connection does', id);
    return;
  }
  // The connection may be on another node of a cluster (handlers/tokens.ts).
  const owner = await tokenUser(ctx, token);
  if (!owner) {
    session.error(ErrorCode.bad_request, 'unknown token: attach with the "token" of a live connection\'s welcome', id);
    return;
  }
  session.owner = owner;
  session.reply(id, welcome(ctx, session, owner.nick, false));
};

export const fileHandlers = { upload, upload_status: uploadStatus, download, files, attach };
