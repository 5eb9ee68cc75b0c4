// What the local participant receives: the other participants, their tracks and publications,
// our subscriptions and how their videos are shown (adaptive stream), speakers, connection
// quality and data messages. Room extends this class; it owns the signalling and the peer
// connections and hands the messages about others to the on… methods here.

import { PodiumError } from './events.js';
import { Participant } from './participant.js';
import { LocalMedia } from './local.js';
import { AdaptiveStream } from './adaptive.js';
import { SpeakerDetector, roomLevelSources } from './speakers.js';
import { RemoteTrackPublication } from './publication.js';

/** @typedef {import('./signal.js').Message} Message */
/** @typedef {import('./participant.js').Subscription} Subscription */
/** @typedef {import('./participant.js').TrackInfo} TrackInfo */
/** @typedef {import('./participant.js').ParticipantInfo} ParticipantInfo */
/** @typedef {import('./subscriber.js').Received} Received */
/** @typedef {import('./subscriber.js').Subscriber} Subscriber */

export class RemoteMedia extends LocalMedia {
  /** @type {'new'|'connecting'|'connected'|'reconnecting'|'disconnected'} */
  state = 'new';
  /** Remote participants by sid. @type {Map<string, Participant>} */
  participants = new Map();
  /** Every subscribed remote track by track sid. @type {Map<string, Subscription>} */
  subscriptions = new Map();
  /** Set by Room once joined. @type {Subscriber | null} */
  subscriber = null;
  /** @type {AdaptiveStream | null} */
  adaptive = null;
  /** @type {SpeakerDetector | null} */
  speakers = null;
  /** Whether the server sends activeSpeakers (then the browser stops detecting). */
  #serverSpeakers = false;

  /** @param {import('./room.js').ConnectOptions} opts */
  constructor(opts) {
    super();
    this.opts = opts;
    if (opts.adaptiveStream !== false) {
      this.adaptive = new AdaptiveStream({
        send: (sid, st) => (this.state === 'connected' && this.subscriptions.has(sid) ? this.updateTrackSettings(sid, st) : Promise.resolve()),
      });
    }
  }

  /**
   * Explicitly subscribes to or unsubscribes from tracks.
   * @param {string[]} trackSids
   * @param {boolean} [subscribe]
   */
  setSubscribed(trackSids, subscribe = true) {
    return this.command({ type: 'subscribe', trackSids, subscribe });
  }

  /**
   * Tells the server how a remote video is shown, so it forwards a fitting layer.
   * @param {string} trackSid
   * @param {{enabled?: boolean, width?: number, height?: number, pinned?: boolean}} settings
   */
  updateTrackSettings(trackSid, { enabled = true, width, height, pinned = false } = {}) {
    /** @type {Message} */
    const msg = { type: 'trackSettings', trackSid, enabled, pinned };
    if (width !== undefined) msg.width = Math.max(0, Math.round(width));
    if (height !== undefined) msg.height = Math.max(0, Math.round(height));
    return this.command(msg);
  }

  /**
   * Shows a subscribed track in an element (a <video> for video, an <audio> for audio) and, for a
   * video, follows its size and visibility (adaptive stream). Returns the element.
   * @template {HTMLMediaElement} E
   * @param {string} trackSid
   * @param {E} el
   * @returns {E}
   */
  attach(trackSid, el) {
    const sub = this.subscriptions.get(trackSid);
    if (!sub) throw new PodiumError('not_found', `not subscribed to ${trackSid}`);
    el.srcObject = new MediaStream([sub.track]);
    el.autoplay = true;
    if (el instanceof HTMLVideoElement) {
      el.playsInline = true;
      el.muted = true; // its sound, if any, plays in an <audio> element
      this.adaptive?.observe(trackSid, el);
    }
    this.playMedia(el);
    return el;
  }

  /**
   * Stops showing a track in an element.
   * @param {string} trackSid
   * @param {HTMLMediaElement} el
   */
  detach(trackSid, el) {
    if (el instanceof HTMLVideoElement) this.adaptive?.unobserve(trackSid, el);
    el.srcObject = null;
  }

  /**
   * Pins a remote video (the server gives it priority) or unpins it.
   * @param {string} trackSid
   * @param {boolean} pinned
   */
  setPinned(trackSid, pinned) {
    if (this.adaptive) this.adaptive.setPinned(trackSid, pinned);
    else return this.updateTrackSettings(trackSid, { pinned });
    return Promise.resolve();
  }

  /**
   * The publication of a remote track, by track sid.
   * @param {string} trackSid
   * @returns {RemoteTrackPublication | undefined}
   */
  remotePublication(trackSid) {
    for (const p of this.participants.values()) {
      const pub = p.trackPublications.get(trackSid);
      if (pub) return pub;
    }
    return undefined;
  }

  /** Starts detecting speakers in the browser, unless the server does it or the app said no. */
  startSpeakerDetection() {
    if (this.opts.speakerDetection === false || this.#serverSpeakers || this.speakers) return;
    this.speakers = new SpeakerDetector(() => roomLevelSources(this), (sp) => this.#applySpeakers(sp, 'client'));
    this.speakers.start();
  }

  /**
   * Creates, refreshes and ends a participant's track publications from its tracks.
   * @param {Participant} participant
   */
  #syncPublications(participant) {
    for (const [sid, info] of participant.tracks) {
      const pub = participant.trackPublications.get(sid);
      if (!pub) {
        participant.trackPublications.set(sid, new RemoteTrackPublication(participant, info, this));
        continue;
      }
      pub.trackInfo = info;
      pub.noteInfo();
    }
    for (const [sid, pub] of participant.trackPublications) {
      if (participant.tracks.has(sid)) continue;
      participant.trackPublications.delete(sid);
      pub.noteUnpublished();
    }
  }

  /**
   * A participant we learn of (joined, or listed when we join).
   * @param {ParticipantInfo} info
   */
  addParticipant(info) {
    const participant = new Participant(info, false);
    this.participants.set(info.sid, participant);
    this.#syncPublications(participant);
    return participant;
  }

  /** @param {Participant} participant */
  #removeParticipant(participant) {
    for (const sid of [...participant.subscriptions.keys()]) this.unsubscribeTrack(sid);
    this.participants.delete(participant.sid);
    for (const pub of participant.trackPublications.values()) pub.noteUnpublished();
    participant.trackPublications.clear();
  }

  /**
   * @param {ParticipantInfo} info
   * @param {'participantJoined'|'participantUpdated'} event
   */
  onParticipant(info, event) {
    if (!info?.sid) return;
    if (info.sid === this.localParticipant?.sid) {
      this.onLocalUpdate(info);
      this.emit('participantUpdated', { participant: this.localParticipant });
      return;
    }
    let participant = this.participants.get(info.sid);
    if (!participant) {
      participant = this.addParticipant(info);
      this.emit('participantJoined', { participant });
    } else {
      const wasMuted = new Map([...participant.tracks].map(([sid, t]) => [sid, t.muted]));
      participant.update(info);
      this.emit('participantUpdated', { participant });
      for (const [sid, trackInfo] of participant.tracks) {
        if (wasMuted.has(sid) && wasMuted.get(sid) !== trackInfo.muted) {
          this.emit('trackMuted', { participant, trackInfo, muted: trackInfo.muted, publication: participant.trackPublications.get(sid) });
        }
      }
      this.#syncPublications(participant);
    }
    this.subscriber?.retry();
  }

  /** @param {Message} m */
  onParticipantLeft(m) {
    const participant = this.participants.get(m.sid);
    if (!participant) return;
    this.#removeParticipant(participant);
    this.emit('participantLeft', { participant });
  }

  /** @param {Message} m */
  onTrackPublished(m) {
    if (!m.track?.sid) return;
    if (m.participantSid === this.localParticipant?.sid) {
      this.onLocalTrack(m.track);
      return;
    }
    const participant = this.participants.get(m.participantSid);
    if (!participant) return;
    const trackInfo = participant.setTrack(m.track);
    this.#syncPublications(participant);
    this.emit('trackPublished', { participant, trackInfo, publication: participant.trackPublications.get(trackInfo.sid) });
    this.subscriber?.retry();
  }

  /** @param {Message} m */
  onTrackUnpublished(m) {
    if (m.participantSid === this.localParticipant?.sid) {
      this.onLocalTrackRemoved(m.trackSid);
      return;
    }
    this.unsubscribeTrack(m.trackSid);
    const participant = this.participants.get(m.participantSid);
    const trackInfo = participant?.tracks.get(m.trackSid);
    if (!participant || !trackInfo) return;
    const publication = participant.trackPublications.get(m.trackSid);
    participant.tracks.delete(m.trackSid);
    this.#syncPublications(participant);
    this.emit('trackUnpublished', { participant, trackInfo, publication });
  }

  /** @param {Message} m */
  onStreamState(m) {
    const sub = this.subscriptions.get(m.trackSid);
    const state = { state: m.state, layer: m.layer ?? null, reason: m.reason };
    if (sub) sub.streamState = state;
    this.emit('streamState', { trackSid: m.trackSid, ...state, participant: sub?.participant, trackInfo: sub?.trackInfo, publication: sub?.publication });
    sub?.publication.noteStreamState(state);
  }

  /**
   * After a rejoin: the participants the new session knows replace the old ones.
   * @param {ParticipantInfo[]} infos
   */
  syncParticipants(infos) {
    const next = new Map(infos.map((i) => [i.sid, i]));
    for (const [sid, participant] of [...this.participants]) {
      const info = next.get(sid);
      if (info) {
        participant.update(info);
        this.#syncPublications(participant);
        this.emit('participantUpdated', { participant });
      } else {
        this.#removeParticipant(participant);
        this.emit('participantLeft', { participant });
      }
    }
    for (const info of infos) {
      if (this.participants.has(info.sid)) continue;
      this.emit('participantJoined', { participant: this.addParticipant(info) });
    }
  }

  /** @param {Message} m */
  onServerSpeakers(m) {
    if (!this.#serverSpeakers) {
      this.#serverSpeakers = true;
      this.speakers?.stop();
      this.speakers = null;
    }
    this.#applySpeakers(m, 'server');
  }

  /**
   * @param {{type?: string, speakers?: {sid: string, level: number}[], dominant?: string | null}} m
   * @param {'server'|'client'} source
   */
  #applySpeakers(m, source) {
    const all = [...this.participants.values()];
    if (this.localParticipant) all.push(this.localParticipant);
    for (const p of all) {
      p.isSpeaking = false;
      p.isDominantSpeaker = false;
      p.audioLevel = 0;
    }
    const find = (/** @type {string} */ sid) => (sid === this.localParticipant?.sid ? this.localParticipant : this.participants.get(sid));
    const speakers = (m.speakers ?? []).map((/** @type {{sid: string, level: number}} */ s) => {
      const participant = find(s.sid);
      if (participant) {
        participant.isSpeaking = true;
        participant.audioLevel = s.level;
      }
      return { sid: s.sid, level: s.level, participant };
    });
    const dominant = m.dominant ? find(m.dominant) ?? null : null;
    if (dominant) dominant.isDominantSpeaker = true;
    this.emit('activeSpeakers', { speakers, dominant, dominantSid: m.dominant ?? null, source });
  }

  /** @param {Message} m */
  onConnectionQuality(m) {
    const updates = (m.updates ?? []).map((/** @type {{sid: string, quality: any}} */ u) => {
      const participant = u.sid === this.localParticipant?.sid ? this.localParticipant : this.participants.get(u.sid);
      if (participant) participant.connectionQuality = u.quality;
      return { sid: u.sid, quality: u.quality, participant };
    });
    this.emit('connectionQuality', { updates });
  }

  /**
   * The subscriber connection matched a received track to a track sid.
   * @param {string} participantSid
   * @param {string} trackSid
   * @param {Received} r
   * @returns {boolean} false when the participant is not known yet
   */
  onMatched(participantSid, trackSid, r) {
    const participant = this.participants.get(participantSid);
    if (!participant) return false;
    const old = this.subscriptions.get(trackSid);
    if (old?.receiver === r.receiver) return true;
    if (old) this.unsubscribeTrack(trackSid);
    // The server announces a track before subscribing us; if it did not, make do with the kind.
    const trackInfo =
      participant.tracks.get(trackSid) ??
      participant.setTrack({ sid: trackSid, kind: /** @type {any} */ (r.track.kind), source: r.track.kind === 'audio' ? 'microphone' : 'camera', muted: false });
    this.#syncPublications(participant);
    const publication = /** @type {RemoteTrackPublication} */ (participant.trackPublications.get(trackSid));
    /** @type {Subscription} */
    const sub = { participant, trackInfo, track: r.track, stream: r.stream, receiver: r.receiver, mid: r.mid, streamState: null, publication };
    this.subscriptions.set(trackSid, sub);
    participant.subscriptions.set(trackSid, sub);
    this.emit('trackSubscribed', sub);
    publication.noteSubscribed(sub);
    return true;
  }

  /**
   * We no longer receive a track (the server stopped sending it, or the session ends).
   * @param {string} trackSid
   */
  unsubscribeTrack(trackSid) {
    const sub = this.subscriptions.get(trackSid);
    this.subscriber?.forget(trackSid);
    if (!sub) return;
    this.subscriptions.delete(trackSid);
    sub.participant.subscriptions.delete(trackSid);
    this.adaptive?.unobserve(trackSid);
    this.emit('trackUnsubscribed', sub);
    if (sub.publication.subscription === sub) sub.publication.noteUnsubscribed();
  }

  /**
   * A data channel message.
   * @param {string} label
   * @param {string | ArrayBuffer} data
   */
  onDataMessage(label, data) {
    const reliable = label !== 'lossy';
    if (typeof data !== 'string') return void this.emit('data', { binary: data, reliable });
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      console.warn('podium: dropping a data message that is not JSON');
      return;
    }
    const from = message?.from;
    const participant = [...this.participants.values()].find((p) => p.identity === from);
    this.emit('data', { topic: message?.topic, payload: message?.payload, from, to: message?.to, participant, reliable, message });
  }
}
