package participant

// iceRestarter is the Peer's ICE restart of the subscriber connection (package peer has it; the
// tests' fakes need not).
type iceRestarter interface{ RestartICE() }

// handleICERestart answers a client's iceRestart: the next subscriber offer, now or after the
// answer to the one in flight, carries new ICE credentials. The client restarts its publisher
// connection itself, with an offer.
func (p *Participant) handleICERestart() error {
	if p.httpSession() != nil {
		return nil // over HTTP the client makes the one offer, and restarts with a new session
	}
	if r, ok := p.peer.(iceRestarter); ok {
		r.RestartICE()
		p.negotiate()
	}
	return nil
}

// RestartICE makes the next subscriber offer restart ICE (see handleICERestart).
func (c Control) RestartICE() error { return c.p.handleICERestart() }
