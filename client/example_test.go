package client_test

import (
	"context"
	"fmt"
	"log"
	"sync"

	"github.com/podium-sfu/podium/client"
	"github.com/podium-sfu/podium/testmedia"
)

// A participant that publishes a camera and a microphone from the test fixtures and reads
// whatever the server forwards.
func Example() {
	ctx := context.Background()
	c, err := client.Connect(ctx, "ws://127.0.0.1:7880", "<access token>", client.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	q, h, f := testmedia.VP8Layers()
	if _, err := c.PublishSimulcastIVF(ctx, q, h, f, client.Camera()); err != nil {
		log.Fatal(err)
	}
	mic, err := c.PublishOgg(ctx, testmedia.Opus(), client.Microphone())
	if err != nil {
		log.Fatal(err)
	}
	mic.SetAudioLevel(20) // "speaking"

	// One reader per track: reading drives pion's NACK and TWCC feedback. Tracks closes when
	// the session ends, and each reader ends when its track does.
	var readers sync.WaitGroup
	defer readers.Wait()
	for rt := range c.Tracks() {
		fmt.Println("receiving", rt.Info.Kind, "from", rt.Participant.Identity)
		readers.Go(func() {
			for {
				if _, _, err := rt.Track.ReadRTP(); err != nil {
					return
				}
			}
		})
	}
}
