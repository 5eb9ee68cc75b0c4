// The publisher PeerConnection: this client offers, the server answers. Negotiations run one at a
// time; dynacast requests from the server turn simulcast encodings on and off.

import { PodiumError, SerialQueue, deferred, withTimeout } from './events.js';

/** @typedef {import('./signal.js').SignalClient} SignalClient */
/** @typedef {import('./participant.js').LocalTrackPublication} LocalTrackPublication */

const ANSWER_TIMEOUT = 15000;

export class Publisher {
  /** @type {SerialQueue} */
  #queue = new SerialQueue();
  /** Negotiations asked for and not started yet. @type {{prepare?: () => any, done: import('./events.js').Deferred<any>, iceRestart?: boolean}[]} */
  #waiting = [];
  /** The answer the current negotiation waits for. @type {import('./events.js').Deferred<string> | null} */
  #answer = null;
  /** Remote candidates that arrived before the first answer. @type {(RTCIceCandidateInit | null)[]} */
  #pendingCandidates = [];
  /** One queue per sender, so that getParameters/setParameters pairs do not interleave. @type {WeakMap<RTCRtpSender, SerialQueue>} */
  #senderQueues = new WeakMap();

  /**
   * @param {RTCPeerConnection} pc
   * @param {SignalClient} signal
   * @param {{sender: (tr: RTCRtpTransceiver, kind: string) => void} | null} [e2ee] encrypts what new senders send
   */
  constructor(pc, signal, e2ee = null) {
    this.pc = pc;
    this.signal = signal;
    this.e2ee = e2ee;
    // The protocol wants both channels in the first offer.
    this.reliable = pc.createDataChannel('reliable', { ordered: true });
    this.lossy = pc.createDataChannel('lossy', { ordered: false, maxRetransmits: 0 });
    this.reliable.binaryType = 'arraybuffer';
    this.lossy.binaryType = 'arraybuffer';
    pc.onicecandidate = (ev) => {
      signal.send({ type: 'candidate', target: 'publisher', candidate: ev.candidate ? ev.candidate.toJSON() : null });
    };
  }

  /**
   * Runs an offer/answer exchange after the ones already under way. `prepare` runs first, inside
   * the turn, to change the transceivers the offer describes; calls that queue up while an
   * exchange is in flight share the next one (publishing camera and microphone together costs
   * one round trip, not two).
   * @template T
   * @param {() => T} [prepare]
   * @param {boolean} [iceRestart] the offer restarts ICE (see icerestart.js)
   * @returns {Promise<T | undefined>}
   */
  negotiate(prepare, iceRestart = false) {
    /** @type {import('./events.js').Deferred<any>} */
    const done = deferred();
    this.#waiting.push({ prepare, done, iceRestart });
    this.#queue.run(() => this.#flush());
    return done.promise;
  }

  async #flush() {
    const batch = this.#waiting.splice(0);
    if (batch.length === 0) return; // an earlier turn took them
    const results = batch.map(({ prepare }) => {
      try {
        return { ok: true, value: prepare?.() };
      } catch (err) {
        return { ok: false, value: err };
      }
    });
    try {
      await this.#exchange(batch.some((b) => b.iceRestart));
    } catch (err) {
      for (const b of batch) b.done.reject(err);
      return;
    }
    batch.forEach((b, i) => (results[i].ok ? b.done.resolve(results[i].value) : b.done.reject(results[i].value)));
  }

  async #exchange(iceRestart = false) {
    if (this.pc.signalingState === 'closed') throw new PodiumError('disconnected', 'publisher connection closed');
    const offer = await this.pc.createOffer({ iceRestart });
    await this.pc.setLocalDescription(offer);
    const sdp = /** @type {RTCSessionDescription} */ (this.pc.localDescription).sdp;
    const answer = deferred();
    this.#answer = answer;
    // The server may echo the offer's id on its answer (then `request` resolves) or not (then
    // handleAnswer resolves `answer`); an error with the id rejects the request.
    const reply = this.signal.request({ type: 'offer', target: 'publisher', sdp }, 'answer').then((m) => m.sdp);
    reply.catch(() => {});
    try {
      const answerSdp = await withTimeout(Promise.race([reply, answer.promise]), ANSWER_TIMEOUT, 'the publisher answer');
      await this.pc.setRemoteDescription({ type: 'answer', sdp: answerSdp });
    } finally {
      if (this.#answer === answer) this.#answer = null;
    }
    const pending = this.#pendingCandidates.splice(0);
    for (const c of pending) await this.#addCandidate(c);
  }

  /** @param {{sdp: string}} msg an answer with target "publisher" that no request claimed */
  handleAnswer(msg) {
    if (this.#answer) this.#answer.resolve(msg.sdp);
    else console.warn('podium: publisher answer with no offer pending');
  }

  /** @param {RTCIceCandidateInit | null} candidate */
  handleCandidate(candidate) {
    // During an exchange too: after an ICE restart, the server's new candidates belong to the
    // answer on its way.
    if (!this.pc.remoteDescription || this.#answer) {
      this.#pendingCandidates.push(candidate);
      return;
    }
    this.#addCandidate(candidate);
  }

  /** @param {RTCIceCandidateInit | null} c */
  async #addCandidate(c) {
    try {
      // A null candidate ends the candidates.
      await this.pc.addIceCandidate(c ?? undefined);
    } catch (err) {
      console.warn('podium: publisher candidate rejected', err);
    }
  }

  /**
   * Adds a sendonly transceiver for the track and negotiates it.
   * @param {MediaStreamTrack} track
   * @param {MediaStream} stream
   * @param {RTCRtpEncodingParameters[] | undefined} sendEncodings
   * @returns {Promise<RTCRtpTransceiver>}
   */
  async addTrack(track, stream, sendEncodings) {
    /** @type {RTCRtpTransceiverInit} */
    const init = { direction: 'sendonly', streams: [stream] };
    if (sendEncodings) init.sendEncodings = sendEncodings;
    const tr = await this.negotiate(() => {
      const t = this.pc.addTransceiver(track, init);
      this.e2ee?.sender(t, track.kind); // before the offer: no frame leaves in clear
      return t;
    });
    return /** @type {RTCRtpTransceiver} */ (tr);
  }

  /**
   * Stops sending the track and negotiates the change.
   * @param {RTCRtpSender} sender
   */
  async removeTrack(sender) {
    await this.negotiate(() => {
      if (this.pc.signalingState !== 'closed') this.pc.removeTrack(sender);
    });
  }

  /**
   * Dynacast: turns on the layers someone needs and off the others. Layers the server does not
   * name keep their state.
   * @param {LocalTrackPublication} pub
   * @param {{rid: string, active: boolean}[]} layers
   */
  setActiveLayers(pub, layers) {
    pub.activeLayers = layers;
    const sender = pub.sender;
    if (!sender) return Promise.resolve(); // applied once the track is negotiated
    let q = this.#senderQueues.get(sender);
    if (!q) {
      q = new SerialQueue();
      this.#senderQueues.set(sender, q);
    }
    return q.run(async () => {
      const want = pub.activeLayers;
      if (!want || this.pc.signalingState === 'closed') return;
      const params = sender.getParameters();
      let changed = false;
      for (const enc of params.encodings ?? []) {
        const l = want.find((x) => x.rid === enc.rid);
        if (l && enc.active !== l.active) {
          enc.active = l.active;
          changed = true;
        }
      }
      if (changed) await sender.setParameters(params);
    }).catch((err) => console.warn('podium: could not apply subscribedLayers', err));
  }

  close() {
    this.#answer?.reject(new PodiumError('disconnected', 'connection closed'));
    this.pc.close();
  }
}
