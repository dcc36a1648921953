// The kafka-go side of the benchmark lab (labs/bench, 附录 E 基准测试实验室).
//
// The Rust bench runs this program as a child process, one run at a time,
// with one argument: the run's spec as JSON — the same RunSpec our own
// client gets (labs/bench/src/clients/mod.rs) — and reads the one
// `RESULT {json}` line it prints at the end (both in package peer, shared
// with the franz-go program next door, ../franz). The librdkafka-named settings
// are mapped onto kafka-go's fields here (writerFor, readerMaxWait);
// `describe SPEC` prints that mapping as JSON without connecting.
//
//	produce     Writer{Async: true} with RequiredAcks, BatchSize, BatchBytes,
//	            BatchTimeout, Compression; latency = WriteMessages → Completion
//	consume     Reader with a GroupID (commits every 5 s, like the other clients'
//	            auto-commit), MinBytes/MaxBytes/MaxWait
//	sync_sends  synchronous WriteMessages of one message at a time: with the
//	            default BatchTimeout (1 s) every call waits for the timer
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"example.com/bench-peers/peer"
	"github.com/segmentio/kafka-go"
)

func main() {
	peer.Main("kafka-go-bench", describeSpec, map[string]func(peer.RunSpec) error{"produce": produce, "consume": consume, "sync_sends": syncSends})
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

// ANCHOR: writer_settings
// writerSettings maps librdkafka's producer settings onto kafka-go's Writer:
// BatchTimeout = linger.ms, BatchBytes = batch.size, BatchSize (a record
// count) = as many records as fit in batch.size, at most batch.num.messages.
type writerSettings struct {
	RequiredAcks kafka.RequiredAcks
	BatchSize    int
	BatchBytes   int64
	BatchTimeout time.Duration
	Compression  kafka.Compression
}

func writerFor(w peer.Work) (writerSettings, error) {
	requiredAcks, err := acks(w.Acks)
	if err != nil {
		return writerSettings{}, err
	}
	codec, err := compression(w.Compression)
	if err != nil {
		return writerSettings{}, err
	}
	if w.Idempotence {
		return writerSettings{}, errors.New("kafka-go has no idempotent producer")
	}
	batchRecords := min(max(w.BatchSize/max(int64(w.RecordSize), 1), 1), max(w.BatchNumMessages, 1))
	// kafka-go treats BatchTimeout 0 as "use the default" (1 s): linger.ms=0
	// becomes the shortest timer instead.
	batchTimeout := time.Microsecond
	if w.LingerMs != nil && *w.LingerMs > 0 {
		batchTimeout = time.Duration(*w.LingerMs) * time.Millisecond
	}
	return writerSettings{
		RequiredAcks: requiredAcks,
		BatchSize:    int(batchRecords),
		BatchBytes:   w.BatchSize,
		BatchTimeout: batchTimeout,
		Compression:  codec,
	}, nil
}

// ANCHOR_END: writer_settings

// describeSpec prints the kafka-go settings a spec maps to, without connecting.
func describeSpec(spec peer.RunSpec) error {
	described := map[string]any{"role": spec.Work.Role}
	switch spec.Work.Role {
	case "produce":
		s, err := writerFor(spec.Work)
		if err != nil {
			return err
		}
		described["required_acks"] = s.RequiredAcks.String()
		described["batch_size"] = s.BatchSize
		described["batch_bytes"] = s.BatchBytes
		described["batch_timeout"] = s.BatchTimeout.String()
		described["compression"] = spec.Work.Compression
	case "consume":
		described["min_bytes"] = spec.Work.FetchMinBytes
		described["max_wait"] = spec.Work.MaxWait().String()
	case "sync_sends":
		described["batch_timeout"] = syncBatchTimeout(spec.Work).String()
	default:
		return fmt.Errorf("unknown role %q", spec.Work.Role)
	}
	line, err := json.Marshal(described)
	if err != nil {
		return err
	}
	fmt.Println(string(line))
	return nil
}

// inFlight bounds the messages written but not yet completed, like
// librdkafka's queue.buffering.max.messages (100000).
const inFlight = 100000

func produce(spec peer.RunSpec) error {
	settings, err := writerFor(spec.Work)
	if err != nil {
		return err
	}
	records, size, rate := spec.Records, spec.Work.RecordSize, spec.Work.Rate
	value := peer.Payload(size)
	latencies := make([]float64, 0, records)
	var mu sync.Mutex
	var failed, completed atomic.Int64
	slots := make(chan struct{}, inFlight)
	done := make(chan struct{})
	// ANCHOR: writer
	writer := &kafka.Writer{
		Addr:         kafka.TCP(strings.Split(spec.Bootstrap, ",")...),
		Topic:        spec.Topic,
		Balancer:     &kafka.RoundRobin{},
		RequiredAcks: settings.RequiredAcks,
		BatchSize:    settings.BatchSize,
		BatchBytes:   settings.BatchBytes,
		BatchTimeout: settings.BatchTimeout,
		Compression:  settings.Compression,
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
			if completed.Add(int64(len(messages))) == records {
				close(done)
			}
		},
	}
	// ANCHOR_END: writer
	started := time.Now()
	for i := int64(0); i < records; i++ {
		if rate > 0 {
			due := started.Add(time.Duration(float64(i) / float64(rate) * float64(time.Second)))
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
		return fmt.Errorf("only %d of %d completions after 120 s", completed.Load(), records)
	}
	elapsed := time.Since(started)
	if err := writer.Close(); err != nil {
		return fmt.Errorf("closing the writer: %w", err)
	}
	peer.Print(peer.Produced(records, failed.Load(), size, elapsed, latencies))
	return nil
}

func consume(spec peer.RunSpec) error {
	if spec.Work.Group == "" {
		return errors.New("a consume spec needs a group")
	}
	// ANCHOR: reader
	reader := kafka.NewReader(kafka.ReaderConfig{
		Brokers:        strings.Split(spec.Bootstrap, ","),
		GroupID:        spec.Work.Group,
		Topic:          spec.Topic,
		MinBytes:       int(spec.Work.FetchMinBytes), // fetch.min.bytes
		MaxBytes:       1048576,                      // max.partition.fetch.bytes
		MaxWait:        spec.Work.MaxWait(),          // fetch.wait.max.ms
		StartOffset:    kafka.FirstOffset,
		CommitInterval: 5 * time.Second, // like enable.auto.commit's 5 s; 0 would commit every message synchronously
	})
	// ANCHOR_END: reader
	defer reader.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var count, bytes int64
	var first time.Time
	for count < spec.Records {
		message, err := reader.ReadMessage(ctx)
		if err != nil {
			return fmt.Errorf("read %d of %d records: %w", count, spec.Records, err)
		}
		if count == 0 {
			first = time.Now()
		}
		count++
		bytes += int64(len(message.Value))
	}
	elapsed := time.Since(first)
	peer.Print(peer.Result{Records: count, Bytes: bytes, Seconds: elapsed.Seconds()})
	return nil
}

// syncBatchTimeout is the spec's linger.ms as BatchTimeout, or kafka-go's
// default (1 s) when the spec leaves it out.
func syncBatchTimeout(w peer.Work) time.Duration {
	if w.LingerMs == nil {
		return time.Second
	}
	return time.Duration(*w.LingerMs) * time.Millisecond
}

func syncSends(spec peer.RunSpec) error {
	records := int(spec.Records)
	// ANCHOR: sync_trap
	writer := &kafka.Writer{
		Addr:         kafka.TCP(strings.Split(spec.Bootstrap, ",")...),
		Topic:        spec.Topic,
		RequiredAcks: kafka.RequireAll,
		BatchTimeout: syncBatchTimeout(spec.Work), // BatchSize stays at its default, 100
	}
	defer writer.Close()
	latencies := make([]float64, 0, records)
	started := time.Now()
	for i := 0; i < records; i++ {
		begin := time.Now()
		if err := writer.WriteMessages(context.Background(), kafka.Message{Value: []byte(fmt.Sprintf("message %d", i))}); err != nil {
			return fmt.Errorf("WriteMessages: %w", err)
		}
		latencies = append(latencies, float64(time.Since(begin).Microseconds())/1000)
	}
	// ANCHOR_END: sync_trap
	elapsed := time.Since(started)
	// The bench counts calls here, not bytes (size 0).
	peer.Print(peer.Produced(int64(records), 0, 0, elapsed, latencies))
	return nil
}
