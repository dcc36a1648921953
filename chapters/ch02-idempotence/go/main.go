// The kafka-go side of chapter 二.4: the same numbered records, sent by a
// kafka.Writer through the same fault-injecting proxy.
//
//	go run . -brokers localhost:9292 -topic T -records 3000 -partitions 3
//
// Record n (value "n") goes to partition n % partitions, like the Rust
// producer's. Prints "wrote N messages" or fails with the Writer's error.
// kafka-go has no idempotent producer (segmentio/kafka-go#233), so there is
// no setting to compare: this is the Writer as it is.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
)

// numbered puts record n in partition n % len(partitions).
type numbered struct{}

func (numbered) Balance(msg kafka.Message, partitions ...int) int {
	n, err := strconv.Atoi(string(msg.Value))
	if err != nil {
		return partitions[0]
	}
	return partitions[n%len(partitions)]
}

func main() {
	brokers := flag.String("brokers", "localhost:9292", "bootstrap servers, comma-separated")
	topic := flag.String("topic", "", "topic to write to (must exist)")
	records := flag.Int("records", 3000, "records to write")
	flag.Parse()
	if *topic == "" {
		fail("-topic is required")
	}
	// ANCHOR: writer
	writer := &kafka.Writer{
		Addr:     kafka.TCP(strings.Split(*brokers, ",")...),
		Topic:    *topic,
		Balancer: numbered{},
		// Wait for all in-sync replicas, like the Rust producer (acks=all).
		RequiredAcks: kafka.RequireAll,
		// Do not wait up to a second for a batch of 100 to fill.
		BatchTimeout: 10 * time.Millisecond,
		// MaxAttempts stays at its default: 10 attempts per batch.
	}
	// ANCHOR_END: writer
	messages := make([]kafka.Message, *records)
	for n := range messages {
		messages[n] = kafka.Message{Value: []byte(strconv.Itoa(n))}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := writer.WriteMessages(ctx, messages...); err != nil {
		fail("writing to %s: %v", *topic, err)
	}
	if err := writer.Close(); err != nil {
		fail("closing the writer: %v", err)
	}
	fmt.Printf("wrote %d messages\n", len(messages))
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}
