// The browser gateway (chat-server --web PORT; docs/protocol.md "WebSocket"): on one HTTP port, the page
// (/chat/, /chat/ROOM/), its static files, file downloads (/files/ID), and /ws, where each WebSocket becomes a
// stream handed to handleConnection: a browser is an ordinary client, under the same rules and limits.
// With TLS on, the same certificate serves https and wss.

import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { ByeCode, roomProblem } from '../../protocol/index.js';
import type { AddressBook, Admission, Refusal } from '../addresses.js';
import type { ServerConfig } from '../config.js';
import type { Logger } from '../log.js';
import { loadAssets, type Asset } from './assets.js';
import { serveFile, type FileRouteHost } from './files.js';
import { plain, secure } from './headers.js';
import { WebSocketStream } from './ws-stream.js';

/** Biggest WebSocket frame taken: a line, or a slice of an upload (the page sends 64 KiB ones). */
const MIN_FRAME_BYTES = 1024 * 1024;
/** How long a socket over its address's allowance may take to ask for something, to be told why in words. */
const REFUSED_SOCKET_MS = 5000;

export interface WebHost extends FileRouteHost {
  readonly config: ServerConfig;
  readonly log: Logger;
  /**
   * The one allowance per address of every way in (TCP, TLS, WebSocket): each HTTP socket holds a place in it while
   * open, and each HTTP request draws on its address's line budget.
   */
  readonly addresses: AddressBook;
  /** `admission`: the place the WebSocket's HTTP socket took in its address's allowance, which its session takes over. */
  handleConnection(stream: Duplex, remote: string, admission?: Admission): unknown;
}

/**
 * Whether a WebSocket upgrade may come from this page: a browser always says which page opened the socket
 * (Origin), and only this gateway's own pages may (no cross-site WebSocket hijacking). A request without Origin is
 * no browser's: a script, which could as well use the TCP port.
 */
export function originAllowed(origin: string | undefined, host: string | undefined, tls: boolean): boolean {
  if (origin === undefined) return true;
  try {
    const url = new URL(origin);
    return url.protocol === (tls ? 'https:' : 'http:') && host !== undefined && url.host === host.toLowerCase();
  } catch {
    return false;
  }
}

export class WebGateway {
  private readonly server: http.Server;
  private readonly sockets: WebSocketServer;
  private readonly assets: Map<string, Asset>;
  private readonly tls: boolean;

  constructor(private readonly host: WebHost) {
    const { tls, maxLineBytes } = host.config;
    this.tls = tls !== null;
    this.assets = loadAssets();
    const onRequest = (request: http.IncomingMessage, response: http.ServerResponse) => this.route(request, response);
    this.server = tls ? https.createServer({ cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' }, onRequest) : http.createServer(onRequest);
    this.server.headersTimeout = 20_000;
    this.server.requestTimeout = 30_000;
    this.sockets = new WebSocketServer({ noServer: true, maxPayload: Math.max(MIN_FRAME_BYTES, maxLineBytes + 1), perMessageDeflate: false });
    this.server.on('upgrade', (request: http.IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(request, socket, head));
    this.server.on('clientError', (_error, socket: Duplex) => socket.destroy());
    this.server.on('connection', (socket: net.Socket) => this.countSocket(socket));
    this.server.maxConnections = host.config.maxConnections;
  }

  /**
   * Each open HTTP socket's place in its address's allowance (keep-alive ones too), by `address:port` (over https a
   * request's socket is the TLS one, not the TCP socket counted here). A WebSocket's session takes its place over.
   */
  private readonly admissions = new Map<string, Admission>();

  private countSocket(socket: net.Socket): void {
    const id = `${socket.remoteAddress}:${socket.remotePort}`;
    const limits = this.host.addresses.get(socket.remoteAddress);
    const refusal = limits.admit();
    const admission: Admission = refusal ? { refusal } : { limits };
    this.admissions.set(id, admission);
    // One over the allowance is told why on its first request (a WebSocket in a `bye`), or goes unheard.
    const timer = refusal ? setTimeout(() => socket.destroy(), REFUSED_SOCKET_MS).unref() : undefined;
    socket.once('close', () => {
      clearTimeout(timer);
      // Still this socket's: not handed over to a WebSocket's session.
      if (this.admissions.get(id) === admission) {
        this.admissions.delete(id);
        if ('limits' in admission) admission.limits.release();
      }
    });
  }

  /** The socket's place in its address's allowance, handed over to whoever keeps it from now on. */
  private takeAdmission(socket: net.Socket): Admission | undefined {
    const id = `${socket.remoteAddress}:${socket.remotePort}`;
    const admission = this.admissions.get(id);
    this.admissions.delete(id);
    return admission;
  }

  /** Why the socket has no place in its address's allowance, if it has none. */
  private refusalOf(socket: net.Socket): Refusal | undefined {
    const admission = this.admissions.get(`${socket.remoteAddress}:${socket.remotePort}`);
    return admission && 'refusal' in admission ? admission.refusal : undefined;
  }

  async listen(port: number, address: string): Promise<net.AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, address, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.server.on('error', (error) => this.host.log.error({ err: error.message }, 'web listener error'));
    const bound = this.server.address() as net.AddressInfo;
    this.host.log.info({ host: bound.address, port: bound.port, tls: this.tls }, `web gateway at ${this.tls ? 'https' : 'http'}://${bound.address}:${bound.port}/chat/`);
    return bound;
  }

  /** Stop taking requests and sockets; the sessions themselves are closed (with their `bye`) by the server. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private upgrade(request: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const path = (request.url ?? '').split('?')[0];
    const refuse = (status: string) => {
      socket.once('finish', () => socket.destroy());
      setTimeout(() => socket.destroy(), 2000).unref();
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (path !== '/ws') return refuse('404 Not Found');
    if (!originAllowed(request.headers.origin, request.headers.host, this.tls)) {
      this.host.log.warn({ remote: request.socket.remoteAddress, origin: request.headers.origin }, 'WebSocket from a foreign origin refused');
      return refuse('403 Forbidden');
    }
    this.sockets.handleUpgrade(request, socket, head, (webSocket: WebSocket) => {
      const stream = new WebSocketStream(webSocket, request);
      const admission = this.takeAdmission(request.socket);
      this.host.handleConnection(stream, `ws ${request.socket.remoteAddress}:${request.socket.remotePort}`, admission);
    });
  }

  private route(request: http.IncomingMessage, response: http.ServerResponse): void {
    secure(response);
    const refused = this.refusalOf(request.socket);
    if (refused) {
      response.shouldKeepAlive = false;
      const throttled = refused.code === ByeCode.throttled;
      if (throttled) response.setHeader('Retry-After', '1');
      return plain(response, throttled ? 429 : 503, refused.reason);
    }
    if (!this.host.addresses.get(request.socket.remoteAddress).takeLine()) {
      response.setHeader('Retry-After', '1');
      return plain(response, 429, 'too many requests from this address');
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('Allow', 'GET, HEAD');
      return plain(response, 405, 'only GET and HEAD');
    }
    let path: string;
    let query: URLSearchParams;
    try {
      const url = new URL(request.url ?? '/', 'http://x');
      path = decodeURIComponent(url.pathname);
      query = url.searchParams;
    } catch {
      return plain(response, 400, 'bad path');
    }
    if (path === '/' || path === '/chat') return redirect(response, '/chat/');
    // The entry form, sent without the page's script: on to the room.
    const asked = query.get('room')?.trim();
    if (path === '/chat/' && asked && roomProblem(asked) === null) {
      const nick = query.get('nick')?.trim();
      return redirect(response, `/chat/${encodeURIComponent(asked)}/${nick ? `?nick=${encodeURIComponent(nick)}` : ''}`);
    }
    if (path === '/favicon.ico') return void response.writeHead(204).end();
    if (path === '/chat/') return this.asset(request, response, 'index.html');
    const file = /^\/files\/([^/]+)$/.exec(path);
    if (file) return void serveFile(this.host, file[1]!, request, response).catch(() => response.destroy());
    const asset = /^\/chat\/assets\/([^/]+)$/.exec(path);
    if (asset) return this.asset(request, response, asset[1]!);
    const room = /^\/chat\/([^/]+)(\/?)$/.exec(path);
    if (room && roomProblem(room[1]!) === null) {
      return room[2] ? this.asset(request, response, 'room.html') : redirect(response, `/chat/${encodeURIComponent(room[1]!)}/`);
    }
    plain(response, 404, 'not found');
  }

  private asset(request: http.IncomingMessage, response: http.ServerResponse, name: string): void {
    const asset = this.assets.get(name);
    if (!asset) return plain(response, 404, name.endsWith('.html') ? 'the page is not built: run npm run build' : 'not found');
    response.writeHead(200, { 'Content-Type': asset.type, 'Content-Length': asset.body.length, 'Cache-Control': 'no-cache' });
    response.end(request.method === 'HEAD' ? undefined : asset.body);
  }
}

function redirect(response: http.ServerResponse, to: string): void {
  response.writeHead(302, { Location: to, 'Content-Length': 0 });
  response.end();
}
