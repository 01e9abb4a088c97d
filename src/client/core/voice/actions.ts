// /voice, /play and /stop in the chat: one recording and one playback at a time. The recording is sent into the
// buffer it was started in (a room, or the person of a private buffer) once the user stops it (Enter in the TUI).

import { t } from '../../text/i18n/index.js';
import { sanitizeLine } from '../../text/sanitize.js';
import { formatDuration } from '../../text/time.js';
import { fsProblem, sentence } from '../../text/wording.js';
import type { ChatBuffer, ClientState, SharedFile } from '../state.js';
import type { Endpoint } from '../transfer/open.js';
import type { Transfers } from '../transfers.js';
import { fetchVoice, playerFailure, startPlayer, type Playback } from './play.js';
import { Recording } from './recorder.js';
import { sendVoice } from './send.js';
import { findPlayer, findRecorder, type Env, type VoiceToolSettings } from './tools.js';

/** What the voice actions need from the chat client. */
export interface VoiceActionsHost {
  readonly state: ClientState;
  readonly transfers: Transfers;
  server(): Endpoint;
  /** The attach token of the chat session; null after saying in `buffer` why there is none. */
  transferToken(buffer: ChatBuffer): string | null;
  /** Something to redraw (the recording started or ended). */
  changed(): void;
  env(): Env;
  tools(): VoiceToolSettings;
}

export class VoiceActions {
  private current: { recording: Recording; bufferKey: string } | null = null;
  private playback: Playback | null = null;
  private readonly jobs = new Set<Promise<void>>();
  private readonly abort = new AbortController();

  constructor(private readonly host: VoiceActionsHost) {}

  /** The recording under way, for the status line. */
  get recording(): Recording | null {
    return this.current?.recording ?? null;
  }

  get playing(): boolean {
    return this.playback !== null;
  }

  /** Resolves when what was started so far (sending, fetching, playing) has ended (tests; quitting). */
  async done(): Promise<void> {
    while (this.jobs.size > 0) await Promise.all([...this.jobs]);
  }

  /** /voice: start recording for this buffer. */
  record(buffer: ChatBuffer): void {
    const { state } = this.host;
    if (buffer.kind === 'server') {
      state.error(buffer, t('voice.notHere'));
      return;
    }
    if (this.current) {
      state.error(buffer, t('voice.already'));
      return;
    }
    const recording = new Recording(findRecorder(this.host.env(), this.host.tools()), this.host.env());
    this.current = { recording, bufferKey: buffer.key };
    state.info(buffer, t('voice.recording'));
    this.host.changed();
    // A recorder that ends by itself (no microphone, a bad command) has nothing to send.
    void recording.ended.then((code) => {
      if (this.current?.recording !== recording) return;
      this.current = null;
      recording.discard();
      const why = recording.error?.message ?? t('voice.stoppedByItself', { program: recording.recorder.program, code: code ?? t('voice.aSignal') });
      state.error(buffer, t('voice.notRecording', { why }));
      this.host.changed();
    });
  }

  /** Enter while recording: stop and send. */
  finish(): Promise<void> | null {
    const current = this.current;
    if (!current) return null;
    this.current = null;
    this.host.changed();
    const { state } = this.host;
    const buffer = state.buffer(current.bufferKey) ?? state.serverBuffer;
    return this.track(buffer, async () => {
      const path = await current.recording.stop();
      try {
        const token = this.host.transferToken(buffer);
        if (!token) return;
        const transfer = this.host.transfers.start('up', t('voice.transferName'), buffer.key);
        const target = buffer.kind === 'room' ? { room: buffer.key } : { to: buffer.name };
        try {
          const result = await sendVoice({
            endpoint: this.host.server(), identity: { token }, input: path, ...target, env: this.host.env(), signal: this.abort.signal,
            onProgress: (p) => this.host.transfers.progress(transfer, p.done, p.total),
          });
          if (result.note) state.info(buffer, result.note);
        } finally {
          this.host.transfers.finish(transfer);
        }
      } finally {
        current.recording.discard();
      }
    }, t('voice.couldNotSend'));
  }

  /** Escape while recording: stop and throw it away. */
  cancel(): Promise<void> | null {
    const current = this.current;
    if (!current) return null;
    this.current = null;
    const buffer = this.host.state.buffer(current.bufferKey) ?? this.host.state.serverBuffer;
    this.host.state.info(buffer, t('voice.notSent'));
    this.host.changed();
    return this.track(buffer, () => current.recording.cancel(), t('voice.couldNotStop'));
  }

  /** /play [N|ID]: the given voice message of this buffer, or its latest; downloaded once into the cache. */
  play(buffer: ChatBuffer, ref?: { number: number } | { id: string }): Promise<void> | null {
    const { state } = this.host;
    const clip: SharedFile | undefined = ref
      ? state.findFile(buffer, ref)
      : buffer.files.filter((f) => f.voice).at(-1);
    if (!clip && !(ref && 'id' in ref)) {
      state.error(buffer, ref ? t('voice.noFile', { number: (ref as { number: number }).number }) : t('voice.noneYet'));
      return null;
    }
    const player = findPlayer(this.host.env(), this.host.tools());
    const token = this.host.transferToken(buffer);
    if (!token) return null;
    this.stopPlaying();
    const id = clip?.file ?? (ref as { id: string }).id;
    return this.track(buffer, async () => {
      const path = await fetchVoice({
        endpoint: this.host.server(), identity: { token }, file: id, ...(clip && { name: clip.name }), env: this.host.env(), signal: this.abort.signal,
      });
      const playback = await startPlayer(player, path, this.host.env());
      this.playback = playback;
      const what = clip ? `#${clip.number}${clip.voice ? ` (${formatDuration(clip.voice.durationMs / 1000)})` : ''} from ${sanitizeLine(clip.from)}` : sanitizeLine(id);
      state.info(buffer, t('voice.playing', { what }));
      this.host.changed();
      try {
        const failure = playerFailure(player.program, await playback.ended);
        if (failure) state.error(buffer, sentence(failure));
      } finally {
        if (this.playback === playback) this.playback = null;
        this.host.changed();
      }
    }, t('voice.couldNotPlay'));
  }

  /** /stop: stop playing. */
  stop(buffer: ChatBuffer): void {
    if (!this.stopPlaying()) this.host.state.info(buffer, t('voice.nothingPlaying'));
  }

  private stopPlaying(): boolean {
    const playback = this.playback;
    this.playback = null;
    playback?.stop();
    return playback !== null;
  }

  /** Quitting: stop the recorder (its recording is not sent), the player and any transfer. */
  shutdown(): void {
    this.abort.abort();
    void this.current?.recording.cancel();
    this.current = null;
    this.stopPlaying();
  }

  private track(buffer: ChatBuffer, work: () => Promise<void>, failure: string): Promise<void> {
    const job = work()
      .catch((error: unknown) => {
        if (!this.abort.signal.aborted) this.host.state.error(buffer, t('files.failed', { what: failure, why: fsProblem(error) }));
      })
      .finally(() => {
        this.jobs.delete(job);
        this.host.changed();
      });
    this.jobs.add(job);
    return job;
  }
}
