// A compact summary of both peer connections' getStats(), keyed by Podium track sids, for
// dashboards and for tests (the app exposes it as window.podiumStats).

/**
 * @typedef {object} InboundVideo
 * @property {string | null} trackSid
 * @property {string | null} participantSid
 * @property {string | null} mid
 * @property {number} framesDecoded
 * @property {number} framesReceived
 * @property {number} framesDropped
 * @property {number} keyFramesDecoded
 * @property {number} frameWidth
 * @property {number} frameHeight
 * @property {number} framesPerSecond
 * @property {number} freezeCount
 * @property {number} totalFreezesDuration
 * @property {number} pauseCount
 * @property {number} packetsReceived
 * @property {number} packetsLost
 * @property {number} bytesReceived
 * @property {number} nackCount
 * @property {number} pliCount
 * @property {number} firCount
 * @property {number} jitter
 * @property {string} codec e.g. "video/VP8"
 */

/**
 * @typedef {object} InboundAudio
 * @property {string | null} trackSid
 * @property {string | null} participantSid
 * @property {string | null} mid
 * @property {number} totalSamplesReceived
 * @property {number} audioLevel
 * @property {number} totalAudioEnergy
 * @property {number} concealedSamples
 * @property {number} packetsReceived
 * @property {number} packetsLost
 * @property {number} bytesReceived
 * @property {number} jitter
 * @property {string} codec
 */

/**
 * @typedef {object} Outbound one encoding (one simulcast layer) of a published track
 * @property {string | null} trackSid
 * @property {string} kind
 * @property {string | null} rid
 * @property {string | null} mid
 * @property {boolean} active
 * @property {number} frameWidth
 * @property {number} frameHeight
 * @property {number} framesPerSecond
 * @property {number} framesEncoded
 * @property {number} framesSent
 * @property {number} packetsSent
 * @property {number} bytesSent
 * @property {number} targetBitrate
 * @property {number} nackCount
 * @property {number} pliCount
 * @property {string} qualityLimitationReason
 * @property {string} codec
 */

/**
 * @typedef {object} PodiumStats
 * @property {InboundVideo[]} inboundVideo
 * @property {InboundAudio[]} inboundAudio
 * @property {Outbound[]} outbound
 * @property {{publisher: string, subscriber: string}} connectionState
 * @property {{subscriberBitrate: number, publisherBitrate: number, rtt: number}} transport
 *   estimates of the selected candidate pairs (bits/s, seconds); 0 when unknown
 */

/**
 * @param {import('./room.js').Room} room
 * @returns {Promise<PodiumStats>}
 */
export async function collectStats(room) {
  /** @type {PodiumStats} */
  const out = {
    inboundVideo: [],
    inboundAudio: [],
    outbound: [],
    connectionState: {
      publisher: room.publisherPC?.connectionState ?? 'new',
      subscriber: room.subscriberPC?.connectionState ?? 'new',
    },
    transport: { subscriberBitrate: 0, publisherBitrate: 0, rtt: 0 },
  };
  const [sub, pub] = await Promise.all([
    room.subscriberPC && room.subscriberPC.connectionState !== 'closed' ? room.subscriberPC.getStats() : null,
    room.publisherPC && room.publisherPC.connectionState !== 'closed' ? room.publisherPC.getStats() : null,
  ]);
  if (sub) {
    inbound(room, sub, out);
    const pair = selectedPair(sub);
    out.transport.subscriberBitrate = pair?.availableIncomingBitrate ?? 0;
    out.transport.rtt = pair?.currentRoundTripTime ?? 0;
  }
  if (pub) {
    outbound(room, pub, out);
    out.transport.publisherBitrate = selectedPair(pub)?.availableOutgoingBitrate ?? 0;
  }
  return out;
}

/**
 * @param {RTCStatsReport} report
 * @returns {any} the candidate-pair stats of the transport in use, if any
 */
function selectedPair(report) {
  for (const s of report.values()) {
    if (s.type === 'transport' && s.selectedCandidatePairId) return report.get(s.selectedCandidatePairId);
  }
  return undefined;
}

/**
 * @param {import('./room.js').Room} room
 * @param {RTCStatsReport} report
 * @param {PodiumStats} out
 */
function inbound(room, report, out) {
  // Map the receivers' track ids and mids to subscriptions.
  /** @type {Map<string, import('./participant.js').Subscription>} */
  const byTrackId = new Map();
  /** @type {Map<string, import('./participant.js').Subscription>} */
  const byMid = new Map();
  for (const s of room.subscriptions.values()) {
    byTrackId.set(s.receiver.track.id, s);
    if (s.mid !== null) byMid.set(s.mid, s);
  }
  for (const s of report.values()) {
    if (s.type !== 'inbound-rtp') continue;
    const sub = (s.mid !== undefined && byMid.get(s.mid)) || byTrackId.get(s.trackIdentifier);
    const common = {
      trackSid: sub?.trackInfo.sid ?? null,
      participantSid: sub?.participant.sid ?? null,
      mid: s.mid ?? sub?.mid ?? null,
      packetsReceived: s.packetsReceived ?? 0,
      packetsLost: s.packetsLost ?? 0,
      bytesReceived: s.bytesReceived ?? 0,
      jitter: s.jitter ?? 0,
      codec: report.get(s.codecId)?.mimeType ?? '',
    };
    if (s.kind === 'video') {
      out.inboundVideo.push({
        ...common,
        framesDecoded: s.framesDecoded ?? 0,
        framesReceived: s.framesReceived ?? 0,
        framesDropped: s.framesDropped ?? 0,
        keyFramesDecoded: s.keyFramesDecoded ?? 0,
        frameWidth: s.frameWidth ?? 0,
        frameHeight: s.frameHeight ?? 0,
        framesPerSecond: s.framesPerSecond ?? 0,
        freezeCount: s.freezeCount ?? 0,
        totalFreezesDuration: s.totalFreezesDuration ?? 0,
        pauseCount: s.pauseCount ?? 0,
        nackCount: s.nackCount ?? 0,
        pliCount: s.pliCount ?? 0,
        firCount: s.firCount ?? 0,
      });
    } else if (s.kind === 'audio') {
      out.inboundAudio.push({
        ...common,
        totalSamplesReceived: s.totalSamplesReceived ?? 0,
        audioLevel: s.audioLevel ?? 0,
        totalAudioEnergy: s.totalAudioEnergy ?? 0,
        concealedSamples: s.concealedSamples ?? 0,
      });
    }
  }
}

/**
 * @param {import('./room.js').Room} room
 * @param {RTCStatsReport} report
 * @param {PodiumStats} out
 */
function outbound(room, report, out) {
  /** @type {Map<string, import('./participant.js').LocalTrackPublication>} */
  const byMid = new Map();
  /** @type {Map<string, import('./participant.js').LocalTrackPublication>} */
  const byCid = new Map();
  for (const p of room.localParticipant?.publications.values() ?? []) {
    if (p.transceiver?.mid) byMid.set(p.transceiver.mid, p);
    byCid.set(p.cid, p);
  }
  for (const s of report.values()) {
    if (s.type !== 'outbound-rtp') continue;
    const source = s.mediaSourceId ? report.get(s.mediaSourceId) : undefined;
    const p = (s.mid !== undefined && byMid.get(s.mid)) || (source && byCid.get(source.trackIdentifier));
    out.outbound.push({
      trackSid: p?.sid ?? null,
      kind: s.kind,
      rid: s.rid ?? null,
      mid: s.mid ?? null,
      active: s.active ?? true,
      frameWidth: s.frameWidth ?? 0,
      frameHeight: s.frameHeight ?? 0,
      framesPerSecond: s.framesPerSecond ?? 0,
      framesEncoded: s.framesEncoded ?? 0,
      framesSent: s.framesSent ?? 0,
      packetsSent: s.packetsSent ?? 0,
      bytesSent: s.bytesSent ?? 0,
      targetBitrate: s.targetBitrate ?? 0,
      nackCount: s.nackCount ?? 0,
      pliCount: s.pliCount ?? 0,
      qualityLimitationReason: s.qualityLimitationReason ?? '',
      codec: report.get(s.codecId)?.mimeType ?? '',
    });
  }
}
