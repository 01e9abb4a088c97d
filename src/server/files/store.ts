// The file store: a directory of content-addressed objects (identical content is stored once), one small
// JSON record per shared file, and partial uploads kept for resume (docs/protocol.md "Files").
//
//   objects/<sha256>           the bytes
//   records/<id>.json          who shared what, where, when
//   partial/<sha256>.<size>    an interrupted upload, continued by a later one with the same sha256 and size

import { createHash, randomBytes } from 'node:crypto';
import {
  createReadStream,
  createWriteStream,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
  type WriteStream,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, type FileEvent } from '../../protocol/index.js';

export interface FileLimits {
  /** Largest file accepted, in bytes. */
  maxFileBytes: number;
  /** Total bytes of stored objects and uploads in progress. */
  quotaBytes: number;
  /** Files older than this are forgotten (and their bytes removed when nothing else refers to them). */
  expiryMs: number;
}

/** What the store keeps about one shared file. `fromKey`/`toKey` are nick keys, for private access checks. */
export interface FileRecord {
  id: string;
  name: string;
  size: number;
  sha256: string;
  from: string;
  room?: string;
  to?: string;
  ts: string;
  seq?: number;
  fromKey: string;
  toKey?: string;
}

export class FileError extends Error {
  override readonly name = 'FileError';
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** An upload in progress: bytes in, a verified object out. */
export interface Upload {
  write(chunk: Buffer): boolean;
  readonly stream: WriteStream;
  /** All bytes arrived: verify, store, return the sha256. Throws FileError(checksum_mismatch). */
  finish(): Promise<string>;
  /** The connection ended early: keep the partial bytes for resume when it can be resumed. */
  abandon(): void;
  readonly received: number;
}

const PARTIAL_EXPIRY_MS = 24 * 3600 * 1000;

export class FileStore {
  private readonly records = new Map<string, FileRecord>();
  /** Bytes of objects on disk plus bytes reserved by uploads in progress. */
  private usedBytes = 0;
  private readonly temporary: boolean;
  /** Partial files being written now: two uploads of the same content must not write one file. */
  private readonly receiving = new Set<string>();
  /** Interrupted uploads whose last bytes are still being written. */
  private readonly settling = new Map<string, Promise<void>>();

  /** The store's directory; a temporary store makes one on first use. */
  private root: string | null;

  constructor(
    dir: string | null,
    readonly limits: FileLimits,
  ) {
    this.temporary = dir === null;
    this.root = dir;
    if (dir === null) return; // nothing on disk yet, nothing to load
    this.makeDirs();
    this.loadRecords();
    for (const entry of readdirSync(this.path('objects'))) this.usedBytes += statSync(this.path('objects', entry)).size;
    this.sweep();
  }

  private makeDirs(): void {
    for (const sub of ['objects', 'records', 'partial']) mkdirSync(join(this.root!, sub), { recursive: true });
  }

  private path(...parts: string[]): string {
    if (this.root === null) {
      this.root = mkdtempSync(join(tmpdir(), 'chat-files-'));
      this.makeDirs();
    }
    return join(this.root, ...parts);
  }

  /** Refuse a file before any byte is written: too large, or over the quota. */
  admit(size: number): void {
    if (size > this.limits.maxFileBytes) {
      throw new FileError(ErrorCode.too_large, `files may have at most ${this.limits.maxFileBytes} bytes`);
    }
    if (this.usedBytes + size > this.limits.quotaBytes) {
      throw new FileError(ErrorCode.quota_exceeded, 'the server has no room for this file; try again later or a smaller one');
    }
  }

  /** Bytes the server already has of an interrupted upload of this content. */
  partialBytes(sha256: string, size: number): number {
    try {
      return Math.min(size, statSync(this.path('partial', `${sha256}.${size}`)).size);
    } catch {
      return 0;
    }
  }

  /** partialBytes, once an interrupted upload of this content has written everything it received. */
  async settledPartialBytes(sha256: string, size: number): Promise<number> {
    await this.settling.get(this.path('partial', `${sha256}.${size}`));
    return this.partialBytes(sha256, size);
  }

  hasObject(sha256: string): boolean {
    try {
      statSync(this.path('objects', sha256));
      return true;
    } catch {
      return false;
    }
  }

  /** Start receiving `size` bytes, continuing a partial upload from `offset`. */
  beginUpload(size: number, sha256: string | undefined, offset: number): Upload {
    if (offset > 0 && this.partialBytes(sha256!, size) < offset) {
      throw new FileError(ErrorCode.bad_request, `the server has only ${this.partialBytes(sha256!, size)} bytes of it; resume from there`);
    }
    this.admit(size - offset);
    const partial = sha256
      ? this.path('partial', `${sha256}.${size}`)
      : this.path('partial', `anonymous-${randomBytes(8).toString('hex')}`);
    if (this.receiving.has(partial)) {
      throw new FileError(ErrorCode.bad_request, 'the same content is being uploaded on another connection right now');
    }
    this.receiving.add(partial);
    this.usedBytes += size - offset;
    const highWaterMark = 4 * 1024 * 1024; // fewer backpressure round trips at disk speed
    const stream = createWriteStream(partial, offset > 0 ? { flags: 'r+', start: offset, highWaterMark } : { flags: 'w', highWaterMark });
    stream.on('error', () => {});
    // Hash on the fly unless resuming: then the earlier bytes are hashed from disk at the end.
    const hash = offset === 0 ? createHash('sha256') : null;
    let received = 0;
    let reserved = size - offset;
    const release = () => {
      this.usedBytes -= reserved;
      reserved = 0;
      this.receiving.delete(partial);
    };
    const closed = () => new Promise<void>((resolve, reject) => {
      stream.once('error', reject);
      stream.end(() => resolve());
    });
    return {
      stream,
      get received() {
        return received;
      },
      write(chunk) {
        received += chunk.length;
        hash?.update(chunk);
        return stream.write(chunk);
      },
      finish: async () => {
        await closed();
        release();
        const actual = hash ? hash.digest('hex') : await hashFile(partial);
        if (sha256 && actual !== sha256) {
          rmSync(partial, { force: true });
          throw new FileError(ErrorCode.checksum_mismatch, `the bytes have sha256 ${actual}, not ${sha256}; nothing was kept`);
        }
        if (this.hasObject(actual)) {
          rmSync(partial, { force: true }); // identical content is stored once
        } else {
          renameSync(partial, this.path('objects', actual));
          this.usedBytes += size;
        }
        return actual;
      },
      abandon: () => {
        this.usedBytes -= reserved;
        reserved = 0;
        // Still "receiving" until the bytes are on disk: a resume must see all of them.
        const settled = new Promise<void>((resolve) => stream.once('close', () => resolve())).then(() => {
          this.receiving.delete(partial);
          this.settling.delete(partial);
          if (!sha256) rmSync(partial, { force: true });
        });
        this.settling.set(partial, settled);
        stream.end();
      },
    };
  }

  /** Record a stored object as a shared file under a new unguessable id (128 random bits). */
  add(record: Omit<FileRecord, 'id'>): FileRecord {
    const full: FileRecord = { id: newFileId(), ...record };
    writeFileSync(this.path('records', `${full.id}.json`), JSON.stringify(full));
    this.records.set(full.id, full);
    return full;
  }

  /** The file, if `nickKey` may fetch it: a room file by anyone, a private file by its two parties only. */
  get(id: string, nickKey: string): FileRecord | undefined {
    const record = this.records.get(id) ?? this.loadRecord(id);
    if (!record) return undefined;
    if (record.toKey !== undefined && nickKey !== record.fromKey && nickKey !== record.toKey) return undefined;
    return record;
  }

  /** Set the room seq of a record once it is known (cluster mode numbers events through Redis). */
  setSeq(id: string, seq: number): FileRecord {
    const record = { ...this.records.get(id)!, seq };
    writeFileSync(this.path('records', `${id}.json`), JSON.stringify(record));
    this.records.set(id, record);
    return record;
  }

  /** A record another process (a --workers sibling sharing this directory) wrote after this one started. */
  private loadRecord(id: string): FileRecord | undefined {
    if (!/^[A-Za-z0-9_-]+$/.test(id)) return undefined;
    try {
      const record = JSON.parse(readFileSync(this.path('records', `${id}.json`), 'utf8')) as FileRecord;
      this.records.set(record.id, record);
      return record;
    } catch {
      return undefined;
    }
  }

  objectPath(sha256: string): string {
    return this.path('objects', sha256);
  }

  /**
   * Records on disk that this process has not seen: other nodes of a cluster (or --workers siblings) sharing this
   * directory write them. Only a shared directory has them; a listing reads the directory afresh.
   */
  private loadRecords(): void {
    if (this.root === null) return;
    for (const entry of readdirSync(this.path('records'))) {
      if (!entry.endsWith('.json') || this.records.has(entry.slice(0, -'.json'.length))) continue;
      try {
        const record = JSON.parse(readFileSync(this.path('records', entry), 'utf8')) as FileRecord;
        this.records.set(record.id, record);
      } catch {
        // a record half-written by a crash (or being written right now): ignore it
      }
    }
  }

  roomFiles(room: string): FileRecord[] {
    this.loadRecords();
    return [...this.records.values()].filter((r) => r.room === room).sort((a, b) => a.ts.localeCompare(b.ts));
  }

  privateFiles(nickKey: string): FileRecord[] {
    this.loadRecords();
    return [...this.records.values()]
      .filter((r) => r.toKey !== undefined && (r.fromKey === nickKey || r.toKey === nickKey))
      .sort((a, b) => a.ts.localeCompare(b.ts));
  }

  /** Forget expired files, delete bytes nothing refers to, and stale partial uploads. */
  sweep(now = Date.now()): void {
    if (this.root === null) return;
    for (const record of [...this.records.values()]) {
      if (now - Date.parse(record.ts) > this.limits.expiryMs) {
        this.records.delete(record.id);
        rmSync(this.path('records', `${record.id}.json`), { force: true });
      }
    }
    const referenced = new Set([...this.records.values()].map((r) => r.sha256));
    for (const entry of readdirSync(this.path('objects'))) {
      if (!referenced.has(entry)) {
        const file = this.path('objects', entry);
        const { size } = statSync(file);
        unlinkSync(file);
        this.usedBytes -= size;
      }
    }
    for (const entry of readdirSync(this.path('partial'))) {
      const file = this.path('partial', entry);
      if (now - statSync(file).mtimeMs > PARTIAL_EXPIRY_MS) rmSync(file, { force: true });
    }
  }

  close(): void {
    if (this.temporary && this.root !== null) rmSync(this.root, { recursive: true, force: true });
  }
}

export function toFileEvent(record: FileRecord): FileEvent {
  const { id, name, size, sha256, from, room, to, ts, seq } = record;
  return {
    type: 'file',
    ...(room !== undefined && { room }),
    ...(to !== undefined && { to }),
    from,
    file: id,
    name,
    size,
    sha256,
    ts,
    ...(seq !== undefined && { seq }),
  };
}

function hashFile(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('end', () => resolve(hash.digest('hex')))
      .on('error', reject);
  });
}

/** 128 random bits in base64url, never starting with `-`: `chat get -abc…` would read the id as an option. */
export function newFileId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (id[0] !== '-') return id;
  }
}
