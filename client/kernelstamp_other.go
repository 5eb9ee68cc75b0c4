//go:build !linux

package client

import (
	"net"
	"time"
)

// kernelStamps: only Linux's sockets are asked for times of arrival here; elsewhere a packet
// is stamped when the socket is read.
func kernelStamps(*net.UDPConn) bool { return false }

func kernelStamp([]byte) (time.Time, bool) { return time.Time{}, false }
