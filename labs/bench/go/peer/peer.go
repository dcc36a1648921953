// Package peer is what the benchmark lab's two Go programs (kafkago, franz)
// share: the run spec the Rust bench passes as their one argument, the
// `RESULT {json}` line it reads back, and the payload and latency
// percentiles, computed the same way for both.
package peer

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"sort"
	"time"
)

// Result is what the bench reads back (RunResult in labs/bench/src/clients/mod.rs).
type Result struct {
	Records int64    `json:"records"`
	Bytes   int64    `json:"bytes"`
	Seconds float64  `json:"seconds"`
	P50Ms   *float64 `json:"p50_ms,omitempty"`
	P99Ms   *float64 `json:"p99_ms,omitempty"`
	P999Ms  *float64 `json:"p999_ms,omitempty"`
	Errors  int64    `json:"errors"`
}

// RunSpec is the JSON the bench passes (RunSpec in clients/mod.rs).
type RunSpec struct {
	Client    string `json:"client"`
	Bootstrap string `json:"bootstrap"`
	Topic     string `json:"topic"`
	Records   int64  `json:"records"`
	Work      Work   `json:"work"`
}

// Work holds the fields of RunSpec's kinds of work (Work in clients/mod.rs),
// told apart by Role.
type Work struct {
	Role string `json:"role"` // produce, consume or sync_sends (kafka-go only)
	// produce
	RecordSize       int    `json:"record_size"`
	LingerMs         *int64 `json:"linger_ms"` // sync_sends: null = kafka-go's default BatchTimeout
	BatchSize        int64  `json:"batch_size"`
	BatchNumMessages int64  `json:"batch_num_messages"`
	Compression      string `json:"compression"`
	Acks             string `json:"acks"`
	Idempotence      bool   `json:"idempotence"`
	Rate             int64  `json:"rate"`
	// consume
	Group          string `json:"group"`
	FetchMinBytes  int32  `json:"fetch_min_bytes"`
	FetchWaitMaxMs int64  `json:"fetch_wait_max_ms"`
}

// Main runs `program [describe] '<RunSpec JSON>'`: describe prints the
// client's settings for the spec without connecting; otherwise the spec's
// role picks what to run. Any error ends the process with status 1.
func Main(program string, describe func(RunSpec) error, roles map[string]func(RunSpec) error) {
	args := os.Args[1:]
	describing := len(args) == 2 && args[0] == "describe"
	if describing {
		args = args[1:]
	}
	if len(args) != 1 {
		Fail(fmt.Sprintf("usage: %s [describe] '<RunSpec JSON>'", program))
	}
	var spec RunSpec
	if err := json.Unmarshal([]byte(args[0]), &spec); err != nil {
		Fail(fmt.Sprintf("not a run spec (%v): %s", err, args[0]))
	}
	run := describe
	if !describing {
		var known bool
		if run, known = roles[spec.Work.Role]; !known {
			Fail(fmt.Sprintf("unknown role %q: %s runs %v", spec.Work.Role, program, names(roles)))
		}
	}
	if err := run(spec); err != nil {
		Fail(err.Error())
	}
}

func names(roles map[string]func(RunSpec) error) []string {
	var out []string
	for name := range roles {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// Fail prints `error: message` and exits with status 1.
func Fail(message string) {
	fmt.Fprintln(os.Stderr, "error:", message)
	os.Exit(1)
}

// Payload is what Kafka's ProducerPerformance sends: one random string of
// upper-case letters, the same for every record.
func Payload(size int) []byte {
	bytes := make([]byte, size)
	for i := range bytes {
		bytes[i] = byte('A' + rand.Intn(26))
	}
	return bytes
}

// Percentile of sorted latencies (nil when there are none).
func Percentile(sorted []float64, q float64) *float64 {
	if len(sorted) == 0 {
		return nil
	}
	value := sorted[int(q*float64(len(sorted)-1))]
	return &value
}

// Print writes the one line the bench reads.
func Print(r Result) {
	line, _ := json.Marshal(r)
	fmt.Printf("RESULT %s\n", line)
}

// Produced is a produce run's result: the records delivered (sent minus
// failed) and the percentiles of their latencies, in milliseconds.
func Produced(records, failed int64, size int, elapsed time.Duration, latencies []float64) Result {
	sort.Float64s(latencies)
	return Result{
		Records: records - failed,
		Bytes:   (records - failed) * int64(size),
		Seconds: elapsed.Seconds(),
		P50Ms:   Percentile(latencies, 0.50),
		P99Ms:   Percentile(latencies, 0.99),
		P999Ms:  Percentile(latencies, 0.999),
		Errors:  failed,
	}
}

// MaxWait is fetch.wait.max.ms as a Duration.
func (w Work) MaxWait() time.Duration {
	return time.Duration(w.FetchWaitMaxMs) * time.Millisecond
}
