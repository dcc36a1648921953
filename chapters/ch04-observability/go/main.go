// What kafka-go's own statistics report (四.5 可观测性, kafka-go 对照):
// Writer.Stats() after writing N records, and Reader.Lag() / Reader.Stats()
// of a reader in a consumer group that handled only part of them.
//
//	go run . BROKERS TOPIC GROUP WRITE READ
//
// Prints key=value lines for the Rust test that runs it.
package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"
)

func main() {
	if len(os.Args) != 6 {
		fmt.Fprintln(os.Stderr, "usage: go run . BROKERS TOPIC GROUP WRITE READ")
		os.Exit(2)
	}
	brokers, topic, group := os.Args[1], os.Args[2], os.Args[3]
	write, _ := strconv.Atoi(os.Args[4])
	read, _ := strconv.Atoi(os.Args[5])
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	w := &kafka.Writer{
		Addr:         kafka.TCP(brokers),
		Topic:        topic,
		RequiredAcks: kafka.RequireAll,
		BatchSize:    10,
	}
	messages := make([]kafka.Message, write)
	for i := range messages {
		messages[i] = kafka.Message{Value: []byte(strconv.Itoa(i))}
	}
	if err := w.WriteMessages(ctx, messages...); err != nil {
		fmt.Fprintln(os.Stderr, "write:", err)
		os.Exit(1)
	}
	ws := w.Stats()
	fmt.Printf("writer messages=%d writes=%d batch_size_avg=%d batch_size_max=%d errors=%d retries=%d\n",
		ws.Messages, ws.Writes, ws.BatchSize.Avg, ws.BatchSize.Max, ws.Errors, ws.Retries)
	w.Close()

	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:  []string{brokers},
		Topic:    topic,
		GroupID:  group,
		MaxWait:  500 * time.Millisecond,
	})
	for i := 0; i < read; i++ {
		// With a GroupID, ReadMessage commits each message it returns.
		if _, err := r.ReadMessage(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "read:", err)
			os.Exit(1)
		}
	}
	// Give the reader's prefetch time to fetch the rest.
	time.Sleep(2 * time.Second)
	rs := r.Stats()
	fmt.Printf("reader lag_method=%d stats_lag=%d stats_offset=%d stats_messages=%d queue_length=%d rebalances=%d\n",
		r.Lag(), rs.Lag, rs.Offset, rs.Messages, rs.QueueLength, rs.Rebalances)
	// Close leaves the group; it commits nothing more (ReadMessage already
	// committed each message it returned), so the group stays at READ.
	r.Close()
}
