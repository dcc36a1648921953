// The kafka-go side of chapter 四 配置调优 (ch04-tuning).
//
// The Rust bench runs this program as a child process, one run at a time,
// with the same topic layout, record size, acks, compression and batching it
// gives librdkafka and the Java perf tools, and reads the one `RESULT {json}`
// line it prints at the end.
//
//	produce    Writer{Async: true} with RequiredAcks, BatchSize, BatchBytes,
//	           BatchTimeout, Compression; latency = WriteMessages → Completion
//	consume    Reader with a GroupID (commits every 5 s, like the other clients'
//	           auto-commit), MinBytes/MaxBytes/MaxWait
//	sync-trap  synchronous WriteMessages of one message at a time: with the
//	           default BatchTimeout (1 s) every call waits for the timer
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"
)

type result struct {
	Client  string   `json:"client"`
	Records int64    `json:"records"`
	Bytes   int64    `json:"bytes"`
	Seconds float64  `json:"seconds"`
	P50Ms   *float64 `json:"p50_ms,omitempty"`
	P99Ms   *float64 `json:"p99_ms,omitempty"`
	P999Ms  *float64 `json:"p999_ms,omitempty"`
	Errors  int64    `json:"errors"`
}

func main() {
	if len(os.Args) < 2 {
		fail("usage: ch04-tuning-go produce|consume|sync-trap [flags]")
	}
	var err error
	switch os.Args[1] {
	case "produce":
		err = produce(os.Args[2:])
	case "consume":
		err = consume(os.Args[2:])
	case "sync-trap":
		err = syncTrap(os.Args[2:])
	default:
		err = fmt.Errorf("unknown mode %q: use produce, consume or sync-trap", os.Args[1])
	}
	if err != nil {
		fail(err.Error())
	}
}

func fail(message string) {
	fmt.Fprintln(os.Stderr, "error:", message)
	os.Exit(1)
}

// payload is what Kafka's ProducerPerformance sends: one random string of
// upper-case letters, the same for every record.
func payload(size int) []byte {
	bytes := make([]byte, size)
	for i := range bytes {
		bytes[i] = byte('A' + rand.Intn(26))
	}
	return bytes
}

func acks(value string) (kafka.RequiredAcks, error) {
	switch value {
	case "all", "-1":
		return kafka.RequireAll, nil
	case "1":
		return kafka.RequireOne, nil
	case "0":
		return kafka.RequireNone, nil
	}
	return 0, fmt.Errorf("unknown --acks %q: use all, 1 or 0", value)
}

func compression(value string) (kafka.Compression, error) {
	switch value {
	case "none", "":
		return 0, nil
	case "gzip":
		return kafka.Gzip, nil
	case "snappy":
		return kafka.Snappy, nil
	case "lz4":
		return kafka.Lz4, nil
	case "zstd":
		return kafka.Zstd, nil
	}
	return 0, fmt.Errorf("unknown --compression %q: use none, gzip, snappy, lz4 or zstd", value)
}

func percentile(sorted []float64, q float64) *float64 {
	if len(sorted) == 0 {
		return nil
	}
	index := int(q * float64(len(sorted)-1))
	value := sorted[index]
	return &value
}

func printResult(r result) {
	line, _ := json.Marshal(r)
	fmt.Printf("RESULT %s\n", line)
}

func produce(args []string) error {
	flags := flag.NewFlagSet("produce", flag.ExitOnError)
	brokers := flags.String("brokers", "localhost:9092", "bootstrap servers")
	topic := flags.String("topic", "", "topic")
	records := flags.Int64("records", 100000, "records to send")
	size := flags.Int("size", 1000, "record size in bytes")
	acksFlag := flags.String("acks", "all", "all, 1 or 0")
	batchSize := flags.Int("batch-size", 100, "Writer.BatchSize (messages)")
	batchBytes := flags.Int64("batch-bytes", 1048576, "Writer.BatchBytes")
	batchTimeout := flags.Duration("batch-timeout", time.Second, "Writer.BatchTimeout")
	compressionFlag := flags.String("compression", "none", "none, gzip, snappy, lz4, zstd")
	inFlight := flags.Int("max-in-flight", 100000, "messages written but not yet completed (like queue.buffering.max.messages)")
	rate := flags.Int64("rate", 0, "offered load in records/s (0 = as fast as possible)")
	flags.Parse(args)
	if *topic == "" {
		return errors.New("--topic is required")
	}
	requiredAcks, err := acks(*acksFlag)
	if err != nil {
		return err
	}
	codec, err := compression(*compressionFlag)
	if err != nil {
		return err
	}
	value := payload(*size)
	latencies := make([]float64, 0, *records)
	var mu sync.Mutex
	var failed, completed atomic.Int64
	slots := make(chan struct{}, *inFlight)
	done := make(chan struct{})
	// ANCHOR: writer
	writer := &kafka.Writer{
		Addr:         kafka.TCP(strings.Split(*brokers, ",")...),
		Topic:        *topic,
		Balancer:     &kafka.RoundRobin{},
		RequiredAcks: requiredAcks,
		BatchSize:    *batchSize,
		BatchBytes:   *batchBytes,
		BatchTimeout: *batchTimeout,
		Compression:  codec,
		Async:        true,
		Completion: func(messages []kafka.Message, err error) {
			now := time.Now()
			mu.Lock()
			for _, m := range messages {
				latencies = append(latencies, float64(now.Sub(m.WriterData.(time.Time)).Microseconds())/1000)
			}
			mu.Unlock()
			if err != nil {
				failed.Add(int64(len(messages)))
			}
			for range messages {
				<-slots
			}
			if completed.Add(int64(len(messages))) == *records {
				close(done)
			}
		},
	}
	// ANCHOR_END: writer
	started := time.Now()
	for i := int64(0); i < *records; i++ {
		if *rate > 0 {
			due := started.Add(time.Duration(float64(i) / float64(*rate) * float64(time.Second)))
			if wait := time.Until(due); wait > 0 {
				time.Sleep(wait)
			}
		}
		slots <- struct{}{}
		if err := writer.WriteMessages(context.Background(), kafka.Message{Value: value, WriterData: time.Now()}); err != nil {
			return fmt.Errorf("WriteMessages: %w", err)
		}
	}
	select {
	case <-done:
	case <-time.After(120 * time.Second):
		return fmt.Errorf("only %d of %d completions after 120 s", completed.Load(), *records)
	}
	elapsed := time.Since(started)
	if err := writer.Close(); err != nil {
		return fmt.Errorf("closing the writer: %w", err)
	}
	sort.Float64s(latencies)
	printResult(result{
		Client:  "kafka-go",
		Records: *records - failed.Load(),
		Bytes:   (*records - failed.Load()) * int64(*size),
		Seconds: elapsed.Seconds(),
		P50Ms:   percentile(latencies, 0.50),
		P99Ms:   percentile(latencies, 0.99),
		P999Ms:  percentile(latencies, 0.999),
		Errors:  failed.Load(),
	})
	return nil
}

func consume(args []string) error {
	flags := flag.NewFlagSet("consume", flag.ExitOnError)
	brokers := flags.String("brokers", "localhost:9092", "bootstrap servers")
	topic := flags.String("topic", "", "topic")
	group := flags.String("group", "", "consumer group")
	records := flags.Int64("records", 100000, "records to read")
	minBytes := flags.Int("min-bytes", 1, "ReaderConfig.MinBytes")
	maxBytes := flags.Int("max-bytes", 1048576, "ReaderConfig.MaxBytes")
	maxWait := flags.Duration("max-wait", 500*time.Millisecond, "ReaderConfig.MaxWait")
	timeout := flags.Duration("timeout", 60*time.Second, "give up after this long")
	flags.Parse(args)
	if *topic == "" || *group == "" {
		return errors.New("--topic and --group are required")
	}
	// ANCHOR: reader
	reader := kafka.NewReader(kafka.ReaderConfig{
		Brokers:        strings.Split(*brokers, ","),
		GroupID:        *group,
		Topic:          *topic,
		MinBytes:       *minBytes,
		MaxBytes:       *maxBytes,
		MaxWait:        *maxWait,
		StartOffset:    kafka.FirstOffset,
		CommitInterval: 5 * time.Second, // like enable.auto.commit's 5 s; 0 would commit every message synchronously
	})
	// ANCHOR_END: reader
	defer reader.Close()
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	var count, bytes int64
	var first time.Time
	for count < *records {
		message, err := reader.ReadMessage(ctx)
		if err != nil {
			return fmt.Errorf("read %d of %d records: %w", count, *records, err)
		}
		if count == 0 {
			first = time.Now()
		}
		count++
		bytes += int64(len(message.Value))
	}
	elapsed := time.Since(first)
	printResult(result{Client: "kafka-go", Records: count, Bytes: bytes, Seconds: elapsed.Seconds()})
	return nil
}

func syncTrap(args []string) error {
	flags := flag.NewFlagSet("sync-trap", flag.ExitOnError)
	brokers := flags.String("brokers", "localhost:9092", "bootstrap servers")
	topic := flags.String("topic", "", "topic")
	records := flags.Int("records", 5, "messages, each written by its own WriteMessages call")
	batchTimeout := flags.Duration("batch-timeout", time.Second, "Writer.BatchTimeout (kafka-go's default is 1s)")
	flags.Parse(args)
	if *topic == "" {
		return errors.New("--topic is required")
	}
	// ANCHOR: sync_trap
	writer := &kafka.Writer{
		Addr:         kafka.TCP(strings.Split(*brokers, ",")...),
		Topic:        *topic,
		RequiredAcks: kafka.RequireAll,
		BatchTimeout: *batchTimeout, // BatchSize stays at its default, 100
	}
	defer writer.Close()
	latencies := make([]float64, 0, *records)
	started := time.Now()
	for i := 0; i < *records; i++ {
		begin := time.Now()
		if err := writer.WriteMessages(context.Background(), kafka.Message{Value: []byte(fmt.Sprintf("message %d", i))}); err != nil {
			return fmt.Errorf("WriteMessages: %w", err)
		}
		latencies = append(latencies, float64(time.Since(begin).Microseconds())/1000)
	}
	// ANCHOR_END: sync_trap
	elapsed := time.Since(started)
	sort.Float64s(latencies)
	printResult(result{
		Client:  "kafka-go",
		Records: int64(*records),
		Seconds: elapsed.Seconds(),
		P50Ms:   percentile(latencies, 0.50),
		P99Ms:   percentile(latencies, 0.99),
		P999Ms:  percentile(latencies, 0.999),
	})
	return nil
}
