// Participants and tracks as the SDK presents them to an app.

/**
 * @typedef {object} Layer
 * @property {string} rid
 * @property {number} [width]
 * @property {number} [height]
 * @property {number} [maxBitrate]
 */

/**
 * @typedef {object} TrackInfo a published track, as the server describes it
 * @property {string} sid
 * @property {'audio'|'video'} kind
 * @property {'camera'|'microphone'|'screen'|'screen_audio'} source
 * @property {boolean} muted
 * @property {number} [width]
 * @property {number} [height]
 * @property {Layer[]} [layers]
 * @property {string} [mimeType]
 */

/**
 * @typedef {object} Permissions
 * @property {boolean} canPublish
 * @property {boolean} canSubscribe
 * @property {boolean} canPublishData
 * @property {string[]} [canPublishSources]
 * @property {boolean} [hidden]
 * @property {boolean} [roomAdmin]
 */

/**
 * @typedef {object} ParticipantInfo
 * @property {string} sid
 * @property {string} identity
 * @property {string} name
 * @property {string} metadata
 * @property {TrackInfo[]} tracks
 * @property {Permissions} [permissions]
 * @property {number} [joinedAt]
 */

/**
 * @typedef {object} Subscription a remote track this participant receives
 * @property {Participant} participant
 * @property {TrackInfo} trackInfo
 * @property {MediaStreamTrack} track
 * @property {MediaStream} stream
 * @property {RTCRtpReceiver} receiver
 * @property {string | null} mid
 * @property {{state: string, layer: string | null, reason?: string} | null} streamState
 *   the last streamState for a video (null until the server sends one)
 * @property {RemoteTrackPublication} publication the track's publication (with its own events)
 */

/** @typedef {import('./publication.js').LocalTrackPublication} LocalTrackPublication */
/** @typedef {import('./publication.js').RemoteTrackPublication} RemoteTrackPublication */

export class Participant {
  /** @type {string} */ sid;
  /** @type {string} */ identity = '';
  /** @type {string} */ name = '';
  /** @type {string} */ metadata = '';
  /** @type {Permissions | undefined} */ permissions;
  /** @type {number | undefined} */ joinedAt;
  /** Published tracks by sid. @type {Map<string, TrackInfo>} */
  tracks = new Map();
  /** Tracks of this participant that we receive, by track sid (remote participants only). @type {Map<string, Subscription>} */
  subscriptions = new Map();
  /** Our own publications by track sid (local participant only). @type {Map<string, LocalTrackPublication>} */
  publications = new Map();
  /**
   * The publications of a remote participant's tracks by track sid, received or not (remote
   * participants only; see publication.js). @type {Map<string, RemoteTrackPublication>}
   */
  trackPublications = new Map();
  /** Level of the last activeSpeakers update, 0 when not speaking. */
  audioLevel = 0;
  isSpeaking = false;
  isDominantSpeaker = false;
  /** @type {'unknown'|'excellent'|'good'|'poor'|'lost'} */
  connectionQuality = 'unknown';

  /**
   * @param {ParticipantInfo} info
   * @param {boolean} isLocal
   */
  constructor(info, isLocal) {
    this.sid = info.sid;
    this.isLocal = isLocal;
    this.update(info);
  }

  /**
   * Applies a ParticipantInfo from the server. TrackInfo objects keep their identity across
   * updates, so a Subscription's trackInfo stays current.
   * @param {ParticipantInfo} info
   */
  update(info) {
    this.identity = info.identity ?? this.identity;
    this.name = info.name ?? this.name;
    this.metadata = info.metadata ?? this.metadata;
    if (info.permissions) this.permissions = info.permissions;
    if (info.joinedAt) this.joinedAt = info.joinedAt;
    if (!Array.isArray(info.tracks)) return;
    const next = new Map();
    for (const t of info.tracks) next.set(t.sid, this.setTrack(t));
    this.tracks = next;
  }

  /**
   * Adds or refreshes one track and returns the kept TrackInfo object.
   * @param {TrackInfo} t
   * @returns {TrackInfo}
   */
  setTrack(t) {
    const old = this.tracks.get(t.sid);
    if (!old) {
      const copy = { ...t };
      this.tracks.set(t.sid, copy);
      return copy;
    }
    for (const k of Object.keys(old)) if (!(k in t)) delete /** @type {any} */ (old)[k];
    Object.assign(old, t);
    return old;
  }

  /** The name to show: the display name, else the identity. */
  get displayName() {
    return this.name || this.identity;
  }

  /**
   * The first track of a source, if any.
   * @param {string} source
   * @returns {TrackInfo | undefined}
   */
  trackBySource(source) {
    for (const t of this.tracks.values()) if (t.source === source) return t;
    return undefined;
  }
}
