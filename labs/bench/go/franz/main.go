// The franz-go side of the benchmark lab (labs/bench, 附录 E 基准测试实验室).
//
// Like the kafka-go program next door (../kafkago), the Rust bench runs
// this program as a child process with one argument: the run's spec as JSON
// — the same RunSpec our own client gets — and reads the one `RESULT {json}`
// line it prints at the end (both in package peer). The librdkafka-named
// settings are mapped onto franz-go's options here (producerFor, options);
// `describe SPEC` prints that mapping as JSON without connecting.
//
//	produce  Client.Produce with a promise per record (asynchronous, like
//	         librdkafka's send + delivery report); latency = Produce → promise
//	consume  a consumer group (auto-commit every 5 s, franz-go's default and
//	         librdkafka's), PollFetches in a loop
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"example.com/bench-peers/peer"
	"github.com/twmb/franz-go/pkg/kgo"
)

func main() {
	peer.Main("franz-go-bench", describeSpec, map[string]func(peer.RunSpec) error{"produce": produce, "consume": consume})
}

// ANCHOR: producer_settings
// producerSettings maps librdkafka's producer settings onto franz-go's:
// ProducerLinger = linger.ms, ProducerBatchMaxBytes = batch.size,
// MaxBufferedRecords = librdkafka's queue.buffering.max.messages (100000).
// franz-go is idempotent by default (5 requests in flight per broker);
// with idempotence off it allows 1 unless told otherwise, so the bench
// allows 5, the Java client's max.in.flight.requests.per.connection.
// The partitioner stays franz-go's default (sticky per 64 KiB, KIP-794), as
// every client keeps its own.
type producerSettings struct {
	Acks        string
	Idempotent  bool
	InFlight    int
	Linger      time.Duration
	BatchBytes  int32
	Compression string
	Buffered    int
}

const maxBuffered = 100000

func producerFor(w peer.Work) (producerSettings, error) {
	switch w.Acks {
	case "all", "-1", "1", "0":
	default:
		return producerSettings{}, fmt.Errorf("unknown acks %q: use all, 1 or 0", w.Acks)
	}
	switch w.Compression {
	case "none", "", "gzip", "snappy", "lz4", "zstd":
	default:
		return producerSettings{}, fmt.Errorf("unknown compression %q: use none, gzip, snappy, lz4 or zstd", w.Compression)
	}
	if w.Idempotence && w.Acks != "all" && w.Acks != "-1" {
		return producerSettings{}, errors.New("idempotence needs acks=all")
	}
	linger := time.Duration(0)
	if w.LingerMs != nil {
		linger = time.Duration(*w.LingerMs) * time.Millisecond
	}
	compression := w.Compression
	if compression == "" {
		compression = "none"
	}
	return producerSettings{
		Acks:        w.Acks,
		Idempotent:  w.Idempotence,
		InFlight:    5,
		Linger:      linger,
		BatchBytes:  int32(w.BatchSize),
		Compression: compression,
		Buffered:    maxBuffered,
	}, nil
}

func (s producerSettings) options() []kgo.Opt {
	opts := []kgo.Opt{
		kgo.ProducerLinger(s.Linger),
		kgo.ProducerBatchMaxBytes(s.BatchBytes),
		kgo.MaxBufferedRecords(s.Buffered),
		kgo.ProducerBatchCompression(codec(s.Compression)),
	}
	switch s.Acks {
	case "1":
		opts = append(opts, kgo.RequiredAcks(kgo.LeaderAck()))
	case "0":
		opts = append(opts, kgo.RequiredAcks(kgo.NoAck()))
	default:
		opts = append(opts, kgo.RequiredAcks(kgo.AllISRAcks()))
	}
	if !s.Idempotent {
		opts = append(opts, kgo.DisableIdempotentWrite(), kgo.MaxProduceRequestsInflightPerBroker(s.InFlight))
	}
	return opts
}

// ANCHOR_END: producer_settings

func codec(name string) kgo.CompressionCodec {
	switch name {
	case "gzip":
		return kgo.GzipCompression()
	case "snappy":
		return kgo.SnappyCompression()
	case "lz4":
		return kgo.Lz4Compression()
	case "zstd":
		return kgo.ZstdCompression()
	}
	return kgo.NoCompression()
}

// describeSpec prints the franz-go settings a spec maps to, without connecting.
func describeSpec(spec peer.RunSpec) error {
	described := map[string]any{"role": spec.Work.Role}
	switch spec.Work.Role {
	case "produce":
		s, err := producerFor(spec.Work)
		if err != nil {
			return err
		}
		described["acks"] = s.Acks
		described["idempotent"] = s.Idempotent
		described["in_flight_per_broker"] = s.InFlight
		described["linger"] = s.Linger.String()
		described["batch_max_bytes"] = s.BatchBytes
		described["compression"] = s.Compression
		described["max_buffered_records"] = s.Buffered
	case "consume":
		described["fetch_min_bytes"] = spec.Work.FetchMinBytes
		described["fetch_max_wait"] = spec.Work.MaxWait().String()
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

func produce(spec peer.RunSpec) error {
	settings, err := producerFor(spec.Work)
	if err != nil {
		return err
	}
	// ANCHOR: producer
	opts := append([]kgo.Opt{
		kgo.SeedBrokers(strings.Split(spec.Bootstrap, ",")...),
		kgo.DefaultProduceTopic(spec.Topic),
	}, settings.options()...)
	client, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("creating the client: %w", err)
	}
	defer client.Close()
	// ANCHOR_END: producer
	ctx, cancel := context.WithTimeout(context.Background(), 240*time.Second)
	defer cancel()
	// Metadata before the clock starts, like the other clients' warm-up.
	if err := client.Ping(ctx); err != nil {
		return fmt.Errorf("no broker answers at %s: %w", spec.Bootstrap, err)
	}
	records, size, rate := spec.Records, spec.Work.RecordSize, spec.Work.Rate
	value := peer.Payload(size)
	latencies := make([]float64, 0, records)
	var mu sync.Mutex
	var failed atomic.Int64
	var lastError atomic.Value
	started := time.Now()
	for i := int64(0); i < records; i++ {
		if rate > 0 {
			due := started.Add(time.Duration(float64(i) / float64(rate) * float64(time.Second)))
			if wait := time.Until(due); wait > 0 {
				time.Sleep(wait)
			}
		}
		sent := time.Now()
		// Produce blocks while MaxBufferedRecords are buffered: that is
		// the back-pressure (librdkafka answers QueueFull instead).
		client.Produce(ctx, &kgo.Record{Value: value}, func(_ *kgo.Record, err error) {
			if err != nil {
				failed.Add(1)
				lastError.Store(err.Error())
				return
			}
			latency := float64(time.Since(sent).Microseconds()) / 1000
			mu.Lock()
			latencies = append(latencies, latency)
			mu.Unlock()
		})
	}
	if err := client.Flush(ctx); err != nil {
		return fmt.Errorf("flush: %w", err)
	}
	elapsed := time.Since(started)
	if n := failed.Load(); n > 0 {
		fmt.Fprintf(os.Stderr, "%d records failed; last error: %v\n", n, lastError.Load())
	}
	peer.Print(peer.Produced(records, failed.Load(), size, elapsed, latencies))
	return nil
}

func consume(spec peer.RunSpec) error {
	if spec.Work.Group == "" {
		return errors.New("a consume spec needs a group")
	}
	// ANCHOR: consumer
	client, err := kgo.NewClient(
		kgo.SeedBrokers(strings.Split(spec.Bootstrap, ",")...),
		kgo.ConsumerGroup(spec.Work.Group),
		kgo.ConsumeTopics(spec.Topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMinBytes(spec.Work.FetchMinBytes), // fetch.min.bytes
		kgo.FetchMaxWait(spec.Work.MaxWait()),      // fetch.wait.max.ms
	)
	// ANCHOR_END: consumer
	if err != nil {
		return fmt.Errorf("creating the client: %w", err)
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var count, bytes int64
	var first time.Time
	for count < spec.Records {
		fetches := client.PollFetches(ctx)
		if errs := fetches.Errors(); len(errs) > 0 {
			return fmt.Errorf("read %d of %d records: %v", count, spec.Records, errs[0].Err)
		}
		fetches.EachRecord(func(r *kgo.Record) {
			if count == 0 {
				first = time.Now()
			}
			count++
			bytes += int64(len(r.Value))
		})
	}
	elapsed := time.Since(first)
	peer.Print(peer.Result{Records: count, Bytes: bytes, Seconds: elapsed.Seconds()})
	return nil
}
