// The subscriber PeerConnection: the server offers (one offer at a time), this client answers.
// It works out which remote track each transceiver carries: the m-section's msid is
// "<participantSid> <trackSid>", and a trackSubscribed message names the mid.

import { SerialQueue } from './events.js';

/** @typedef {import('./signal.js').SignalClient} SignalClient */

/**
 * @typedef {object} Received a track that arrived through ontrack
 * @property {MediaStreamTrack} track
 * @property {MediaStream} stream
 * @property {RTCRtpReceiver} receiver
 * @property {RTCRtpTransceiver} transceiver
 * @property {string | null} mid
 */

/**
 * @typedef {object} SubscriberHooks
 * @property {(participantSid: string, trackSid: string, r: Received) => boolean} onMatched
 *   a received track was matched to a track sid; returns false when the participant or the
 *   track is not known yet (the match is then retried by retry())
 * @property {(trackSid: string) => void} onRemoved the server stopped sending a track
 * @property {(label: string, data: string | ArrayBuffer) => void} onData a data channel message
 * @property {{receiver: (r: RTCRtpReceiver, kind: string) => void} | null} [e2ee] decrypts what
 *   receivers get (attached in the track event, before the first frame is decoded)
 */

export class Subscriber {
  #queue = new SerialQueue();
  /** @type {(RTCIceCandidateInit | null)[]} */
  #pendingCandidates = [];
  /** mid → ids, from the msid lines of the last offer. @type {Map<string, {participantSid: string, trackSid: string}>} */
  #msidByMid = new Map();
  /** mid → ids, from trackSubscribed messages. @type {Map<string, {participantSid: string, trackSid: string}>} */
  #subscribedByMid = new Map();
  /** Received tracks not matched yet, by mid. @type {Map<string, Received>} */
  #unmatched = new Map();
  /** Matched tracks by track sid. @type {Map<string, Received>} */
  #active = new Map();

  /**
   * @param {RTCPeerConnection} pc
   * @param {SignalClient} signal
   * @param {SubscriberHooks} hooks
   */
  constructor(pc, signal, hooks) {
    this.pc = pc;
    this.signal = signal;
    this.hooks = hooks;
    /** Data channels the server opened, by label. @type {Map<string, RTCDataChannel>} */
    this.channels = new Map();
    pc.onicecandidate = (ev) => {
      signal.send({ type: 'candidate', target: 'subscriber', candidate: ev.candidate ? ev.candidate.toJSON() : null });
    };
    pc.ontrack = (ev) => this.#onTrack(ev);
    pc.ondatachannel = (ev) => {
      const ch = ev.channel;
      ch.binaryType = 'arraybuffer';
      this.channels.set(ch.label, ch);
      ch.onmessage = (m) => hooks.onData(ch.label, m.data);
    };
  }

  /**
   * Answers a server offer, after the previous one.
   * @param {string} sdp
   * @returns {Promise<void>}
   */
  handleOffer(sdp) {
    return this.#queue.run(async () => {
      const sections = parseSections(sdp);
      for (const s of sections) {
        if (s.mid !== null && s.participantSid && s.trackSid) {
          this.#msidByMid.set(s.mid, { participantSid: s.participantSid, trackSid: s.trackSid });
        }
      }
      await this.pc.setRemoteDescription({ type: 'offer', sdp });
      for (const c of this.#pendingCandidates.splice(0)) await this.#addCandidate(c);
      const answer = await this.pc.createAnswer();
      await this.pc.setLocalDescription(answer);
      this.signal.send({ type: 'answer', target: 'subscriber', sdp: /** @type {RTCSessionDescription} */ (this.pc.localDescription).sdp });
      this.#sweep(sections);
    }).catch((err) => console.error('podium: could not answer the subscriber offer', err));
  }

  /** @param {RTCIceCandidateInit | null} candidate */
  handleCandidate(candidate) {
    // In the offers' queue: a candidate that follows an offer waits until the offer is applied.
    this.#queue.run(async () => {
      if (!this.pc.remoteDescription) this.#pendingCandidates.push(candidate);
      else await this.#addCandidate(candidate);
    });
  }

  /** @param {RTCIceCandidateInit | null} c */
  async #addCandidate(c) {
    try {
      await this.pc.addIceCandidate(c ?? undefined);
    } catch (err) {
      console.warn('podium: subscriber candidate rejected', err);
    }
  }

  /** @param {{participantSid: string, trackSid: string, mid: string}} m a trackSubscribed message */
  noteSubscribed(m) {
    if (typeof m.mid !== 'string') return;
    this.#subscribedByMid.set(m.mid, { participantSid: m.participantSid, trackSid: m.trackSid });
    this.#match(m.mid);
  }

  /** Retries the matches that waited for participant or track info. */
  retry() {
    for (const mid of [...this.#unmatched.keys()]) this.#match(mid);
  }

  /**
   * Forgets a track the server no longer sends (unpublished or unsubscribed).
   * @param {string} trackSid
   */
  forget(trackSid) {
    this.#active.delete(trackSid);
    for (const [mid, ids] of this.#subscribedByMid) if (ids.trackSid === trackSid) this.#subscribedByMid.delete(mid);
  }

  /** @param {RTCTrackEvent} ev */
  #onTrack(ev) {
    this.hooks.e2ee?.receiver(ev.receiver, ev.track.kind);
    const mid = ev.transceiver?.mid ?? null;
    const stream = ev.streams[0] ?? new MediaStream([ev.track]);
    /** @type {Received} */
    const r = { track: ev.track, stream, receiver: ev.receiver, transceiver: ev.transceiver, mid };
    const key = mid ?? `track:${ev.track.id}`;
    // A reused transceiver: the track it carried before is gone.
    for (const [sid, got] of this.#active) if (got.transceiver === ev.transceiver) this.#remove(sid);
    this.#unmatched.set(key, r);
    stream.addEventListener('removetrack', (e) => {
      if (e.track !== r.track) return;
      for (const [sid, got] of this.#active) if (got === r) this.#remove(sid);
    });
    this.#match(key);
  }

  /** @param {string} key a mid */
  #match(key) {
    const r = this.#unmatched.get(key);
    if (!r) return;
    // The offer's msid is authoritative; trackSubscribed is a second source; the stream and
    // track ids are a last resort (a reused transceiver keeps its first track id).
    let ids = this.#msidByMid.get(key) ?? this.#subscribedByMid.get(key);
    if (!ids) ids = { participantSid: r.stream.id, trackSid: r.track.id };
    if (!this.hooks.onMatched(ids.participantSid, ids.trackSid, r)) return;
    this.#unmatched.delete(key);
    this.#active.set(ids.trackSid, r);
  }

  /**
   * After an offer: a track whose m-section is now inactive, rejected or carries another track
   * has been removed.
   * @param {Section[]} sections
   */
  #sweep(sections) {
    const byMid = new Map(sections.map((s) => [s.mid, s]));
    for (const [sid, r] of this.#active) {
      const s = r.mid !== null ? byMid.get(r.mid) : undefined;
      const dir = r.transceiver.currentDirection;
      const gone =
        (s !== undefined && (!s.receiving || (s.trackSid !== null && s.trackSid !== sid))) ||
        dir === 'inactive' ||
        dir === 'stopped' ||
        r.track.readyState === 'ended';
      if (gone) this.#remove(sid);
    }
    for (const [key, r] of this.#unmatched) {
      const s = r.mid !== null ? byMid.get(r.mid) : undefined;
      if (s !== undefined && !s.receiving) this.#unmatched.delete(key);
    }
  }

  /** @param {string} sid */
  #remove(sid) {
    if (!this.#active.delete(sid)) return;
    this.hooks.onRemoved(sid);
  }

  close() {
    this.pc.close();
  }
}

/**
 * @typedef {object} Section one m-section of an offer
 * @property {string} kind
 * @property {string | null} mid
 * @property {string | null} participantSid
 * @property {string | null} trackSid
 * @property {boolean} receiving whether the section sends media to us
 */

/**
 * Reads the mid, msid and direction of every m-section of an SDP.
 * @param {string} sdp
 * @returns {Section[]}
 */
export function parseSections(sdp) {
  /** @type {Section[]} */
  const out = [];
  /** @type {Section | null} */
  let cur = null;
  for (const line of sdp.split(/\r?\n/)) {
    if (line.startsWith('m=')) {
      const [kind, port] = line.slice(2).split(' ');
      cur = { kind, mid: null, participantSid: null, trackSid: null, receiving: port !== '0' };
      out.push(cur);
    } else if (!cur) {
      continue;
    } else if (line.startsWith('a=mid:')) {
      cur.mid = line.slice(6).trim();
    } else if (line.startsWith('a=msid:')) {
      const [stream, track] = line.slice(7).trim().split(' ');
      cur.participantSid = stream || null;
      cur.trackSid = track || null;
    } else if (line === 'a=inactive' || line === 'a=recvonly') {
      // Directions are the offerer's: the server sends nothing on these.
      cur.receiving = false;
    }
  }
  return out.filter((s) => s.kind !== 'application');
}
