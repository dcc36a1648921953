// The kafka-go side of chapter 四.4: what a kafka-go Reader (v0.4.51)
// returns from a topic a transactional producer wrote.
//
//	go run . read -brokers localhost:9092 -topic T [-isolation committed|uncommitted]
//
// reads partition 0 from the first offset until nothing arrives for 3 s and
// prints one line per message: "offset=N key=HEX value=TEXT-OR-HEX", then
// "messages=N". kafka-go has no transactional producer; this shows what its
// Reader makes of other producers' transactions.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/segmentio/kafka-go"
)

func main() {
	if len(os.Args) < 2 || os.Args[1] != "read" {
		fail("usage: go run . read -brokers HOST:PORT -topic T [-isolation committed|uncommitted]")
	}
	flags := flag.NewFlagSet("read", flag.ExitOnError)
	brokers := flags.String("brokers", "localhost:9092", "bootstrap servers, comma-separated")
	topic := flags.String("topic", "", "topic to read (partition 0)")
	isolation := flags.String("isolation", "committed", "committed or uncommitted")
	_ = flags.Parse(os.Args[2:])
	if *topic == "" {
		fail("-topic is required")
	}
	// ANCHOR: reader
	level := kafka.ReadCommitted
	if *isolation == "uncommitted" {
		level = kafka.ReadUncommitted
	}
	reader := kafka.NewReader(kafka.ReaderConfig{
		Brokers:        strings.Split(*brokers, ","),
		Topic:          *topic,
		Partition:      0,
		IsolationLevel: level, // sent to the broker in the fetch request
		MaxWait:        500 * time.Millisecond,
	})
	defer reader.Close()
	// ANCHOR_END: reader
	count := 0
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		message, err := reader.ReadMessage(ctx)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			break
		}
		if err != nil {
			fail("reading %s: %v", *topic, err)
		}
		count++
		fmt.Printf("offset=%d key=%x value=%s\n", message.Offset, message.Key, show(message.Value))
	}
	fmt.Printf("messages=%d\n", count)
}

// show prints text as text and anything else (a control record's value) as hex.
func show(value []byte) string {
	if len(value) > 0 && utf8.Valid(value) && !strings.ContainsFunc(string(value), func(r rune) bool { return r < ' ' }) {
		return string(value)
	}
	return fmt.Sprintf("hex:%x", value)
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "error: "+format+"\n", args...)
	os.Exit(2)
}
