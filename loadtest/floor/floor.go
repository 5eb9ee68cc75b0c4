// Package floor measures the bare cost no SFU can avoid per forwarded packet (one SRTP
// encryption and one UDP send), in a tight loop and paced to sleeping receivers, so that
// `podium load` can report the server's CPU per packet as a multiple of it.
package floor

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"

	"github.com/podium-sfu/podium/sfu/fastpath"
)

// PayloadSize is the payload size of the floor's packets: a full video packet.
const PayloadSize = 1100

// Floor is the bare cost no SFU can avoid per forwarded packet: one SRTP encryption
// (AEAD_AES_128_GCM, what browsers negotiate first) and one UDP send to a loopback socket that a
// goroutine drains. Podium's CPU per forwarded packet is reported as a multiple of it.
type Floor struct {
	ctx   *srtp.Context
	conn  *net.UDPConn
	sink  *net.UDPConn
	dst   *net.UDPAddr
	hdr   rtp.Header
	plain []byte // header + payload, rewritten in place
	out   []byte // ciphertext buffer, reused
	wg    sync.WaitGroup
}

// New opens the two loopback sockets and starts the drain.
func New() (*Floor, error) {
	key, salt := make([]byte, 16), make([]byte, 12)
	_, _ = rand.Read(key)
	_, _ = rand.Read(salt)
	// The context Podium's own path encrypts with, so that the floor costs what Podium's does.
	keys := &fastpath.Keys{Profile: srtp.ProtectionProfileAeadAes128Gcm, Key: key, Salt: salt}
	ctx, err := keys.LocalContext()
	if err != nil {
		return nil, fmt.Errorf("floor: %w", err)
	}
	lo := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}
	sink, err := net.ListenUDP("udp4", lo)
	if err != nil {
		return nil, fmt.Errorf("floor: %w", err)
	}
	conn, err := net.ListenUDP("udp4", lo)
	if err != nil {
		sink.Close()
		return nil, fmt.Errorf("floor: %w", err)
	}
	f := &Floor{ctx: ctx, conn: conn, sink: sink, dst: sink.LocalAddr().(*net.UDPAddr)}
	f.hdr = rtp.Header{Version: 2, PayloadType: 96, SSRC: 0x1234abcd, Timestamp: 90000}
	f.plain = make([]byte, f.hdr.MarshalSize()+PayloadSize)
	f.out = make([]byte, 0, len(f.plain)+64)
	f.wg.Add(1)
	go f.drain() // ends when Close closes the sink
	return f, nil
}

func (f *Floor) drain() {
	defer f.wg.Done()
	buf := make([]byte, 1600)
	for {
		if _, _, err := f.sink.ReadFromUDP(buf); err != nil {
			return
		}
	}
}

// Send encrypts the next packet and sends it. It does not allocate.
func (f *Floor) Send() error {
	f.hdr.SequenceNumber++
	f.hdr.Timestamp += 3000
	if _, err := f.hdr.MarshalTo(f.plain); err != nil {
		return err
	}
	out, err := f.ctx.EncryptRTP(f.out[:0], f.plain, &f.hdr)
	if err != nil {
		return err
	}
	_, err = f.conn.WriteToUDP(out, f.dst)
	return err
}

// Close closes the sockets and waits for the drain.
func (f *Floor) Close() error {
	err := errors.Join(f.conn.Close(), f.sink.Close())
	f.wg.Wait()
	return err
}

// Result is one measurement of the floor.
type Result struct {
	Packets     int     `json:"packets"`
	CPUMicros   float64 `json:"cpuMicrosPerPacket"`  // CPU time of the sending thread per packet
	WallMicros  float64 `json:"wallMicrosPerPacket"` // elapsed time per packet
	ThreadCPU   bool    `json:"threadCPU"`           // false: CPU time could not be measured per thread
	Description string  `json:"description"`
}

// Measure sends packets for about d on one locked OS thread and measures that thread's CPU
// time, so that other goroutines of the process do not count.
func Measure(d time.Duration) (Result, error) {
	f, err := New()
	if err != nil {
		return Result{}, err
	}
	defer f.Close()
	for range 1000 { // warm up: caches, the socket, the SRTP state
		if err := f.Send(); err != nil {
			return Result{}, err
		}
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cpu0, ok := threadCPU()
	start := time.Now()
	n := 0
	for time.Since(start) < d {
		for range 256 {
			if err := f.Send(); err != nil {
				return Result{}, err
			}
		}
		n += 256
	}
	wall := time.Since(start)
	cpu1, _ := threadCPU()
	r := Result{
		Packets: n, WallMicros: float64(wall.Microseconds()) / float64(n), ThreadCPU: ok,
		Description: fmt.Sprintf("SRTP AEAD_AES_128_GCM encrypt + UDP sendto 127.0.0.1, %d-byte payload", PayloadSize),
	}
	r.CPUMicros = r.WallMicros
	if ok {
		r.CPUMicros = float64((cpu1 - cpu0).Microseconds()) / float64(n)
	}
	return r, nil
}
