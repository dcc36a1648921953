// Prints the partition kafka-go's Hash balancer picks for each key given on
// the command line, for a topic with -partitions partitions. The Rust tests
// compare it with librdkafka's fnv1a_random partitioner on a real broker.
package main

import (
	"flag"
	"fmt"

	"github.com/segmentio/kafka-go"
)

func main() {
	count := flag.Int("partitions", 3, "number of partitions")
	flag.Parse()
	partitions := make([]int, *count)
	for i := range partitions {
		partitions[i] = i
	}
	balancer := &kafka.Hash{}
	for _, key := range flag.Args() {
		partition := balancer.Balance(kafka.Message{Key: []byte(key)}, partitions...)
		fmt.Printf("%s %d\n", key, partition)
	}
}
