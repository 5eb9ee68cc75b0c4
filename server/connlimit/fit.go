package connlimit

// Fit lowers a connection cap to what the process's descriptor limit can hold: a quarter of
// the limit (at least 64) stays free for the media sockets, ICE-TCP, files and the runtime, so
// that at the cap the listener refuses connections itself rather than accept failing with
// "too many open files" for every client, health checks included. A cap of 0 or less (none)
// becomes the descriptor bound; nofile 0 means unknown, and the cap is kept.
func Fit(want int, nofile uint64) int {
	if nofile == 0 {
		return want
	}
	reserve := max(nofile/4, 64)
	if nofile <= reserve {
		return 1
	}
	if room := min(nofile-reserve, 1<<30); want <= 0 || uint64(want) > room {
		return int(room)
	}
	return want
}
