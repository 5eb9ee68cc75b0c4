package server

// Failure drills: ways to make the node fail on purpose, for tests and for rehearsing what
// clients do when it happens.

// DropSignalling closes a participant's WebSocket abruptly, as a lost network would, without a
// leave; a client that can resume comes back on the same participant. It reports whether the
// participant had a resumable session to drop.
func (n *Node) DropSignalling(room, identity string) bool {
	return n.signal.DropSignalling(room, identity)
}
