// The kafka-go side of chapter 二.3's comparisons. Two subcommands:
//
//	go run . hash -partitions 3 [-balancer hash|murmur2|crc32] KEY...
//	    prints "KEY PARTITION" for each key: the partition kafka-go's Hash
//	    (default), Murmur2Balancer or CRC32Balancer picks, computed by
//	    kafka-go itself (no broker needed).
//
//	go run . write -brokers localhost:9092 -topic T -balancer hash|default KEY...
//	    writes one message per key (value = its index), in order, with a real
//	    kafka.Writer. "default" leaves Writer.Balancer nil, so kafka-go uses
//	    its default balancer; "hash" sets &kafka.Hash{}. The Rust tests read
//	    the messages back to see which partition each one landed in.
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

func main() {
	if len(os.Args) < 2 {
		fail("usage: go run . hash|write [flags] KEY...")
	}
	switch os.Args[1] {
	case "hash":
		hash(os.Args[2:])
	case "write":
		write(os.Args[2:])
	default:
		fail("unknown subcommand %q: use hash or write", os.Args[1])
	}
}

// ANCHOR: hash
func hash(args []string) {
	flags := flag.NewFlagSet("hash", flag.ExitOnError)
	count := flags.Int("partitions", 3, "number of partitions")
	name := flags.String("balancer", "hash", "hash, murmur2 or crc32")
	_ = flags.Parse(args)
	var balancer kafka.Balancer
	switch *name {
	case "hash":
		balancer = &kafka.Hash{} // FNV-1a, like sarama
	case "murmur2":
		balancer = kafka.Murmur2Balancer{} // like the Java client
	case "crc32":
		balancer = kafka.CRC32Balancer{} // like librdkafka's default
	default:
		fail("unknown balancer %q: use hash, murmur2 or crc32", *name)
	}
	partitions := make([]int, *count)
	for i := range partitions {
		partitions[i] = i
	}
	for _, key := range flags.Args() {
		partition := balancer.Balance(kafka.Message{Key: []byte(key)}, partitions...)
		fmt.Printf("%s %d\n", key, partition)
	}
}

// ANCHOR_END: hash

func write(args []string) {
	flags := flag.NewFlagSet("write", flag.ExitOnError)
	brokers := flags.String("brokers", "localhost:9092", "bootstrap servers, comma-separated")
	topic := flags.String("topic", "", "topic to write to (must exist)")
	balancer := flags.String("balancer", "default", "hash or default")
	_ = flags.Parse(args)
	if *topic == "" {
		fail("-topic is required")
	}
	// ANCHOR: writer
	writer := &kafka.Writer{
		Addr:  kafka.TCP(strings.Split(*brokers, ",")...),
		Topic: *topic,
		// Wait for the broker's acknowledgement (the Writer's default is
		// RequireNone), so the messages are stored when WriteMessages returns.
		RequiredAcks: kafka.RequireAll,
		// Do not wait up to a second for a batch to fill.
		BatchTimeout: 10 * time.Millisecond,
	}
	switch *balancer {
	case "hash":
		writer.Balancer = &kafka.Hash{}
	case "default":
		// Balancer stays nil: the Writer falls back to its default.
	default:
		fail("unknown balancer %q: use hash or default", *balancer)
	}
	// ANCHOR_END: writer
	messages := make([]kafka.Message, 0, flags.NArg())
	for i, key := range flags.Args() {
		messages = append(messages, kafka.Message{Key: []byte(key), Value: []byte(strconv.Itoa(i))})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
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
