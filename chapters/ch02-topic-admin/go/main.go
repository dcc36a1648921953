// The kafka-go side of chapter 二.1: what kafka-go's two CreateTopics calls
// answer, against the real broker.
//
//	go run . create -brokers localhost:9092 -topic T [-partitions 1] [-replication 1] [-config key=value]...
//
// asks for topic T once through each API and prints one line per call:
//
//	conn code=N error=TEXT     kafka.Conn.CreateTopics (the outline's way:
//	                           Dial, Controller, Dial the controller)
//	client code=N error=TEXT   kafka.Client.CreateTopics, its per-topic error
//
// N is the Kafka error code (0 when the error is nil, -1 when the error is
// not a kafka.Error, e.g. a network error); TEXT is err.Error() or <nil>.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
)

func main() {
	if len(os.Args) < 2 || os.Args[1] != "create" {
		fail("usage: go run . create -brokers HOST:PORT -topic T [-partitions N] [-replication N] [-config key=value]...")
	}
	flags := flag.NewFlagSet("create", flag.ExitOnError)
	brokers := flags.String("brokers", "localhost:9092", "bootstrap address")
	topic := flags.String("topic", "", "topic name")
	partitions := flags.Int("partitions", 1, "partitions")
	replication := flags.Int("replication", 1, "replication factor")
	var configs configFlags
	flags.Var(&configs, "config", "topic config key=value (repeatable)")
	_ = flags.Parse(os.Args[2:])
	if *topic == "" {
		fail("-topic is required")
	}
	config := kafka.TopicConfig{
		Topic:             *topic,
		NumPartitions:     *partitions,
		ReplicationFactor: *replication,
		ConfigEntries:     configs,
	}
	report("conn", createWithConn(*brokers, config))
	report("client", createWithClient(*brokers, config))
}

// ANCHOR: conn
// createWithConn is the outline's way: any broker, then the controller.
// Conn.CreateTopics skips error code 36 (TopicAlreadyExists) and returns the
// bare kafka.Error for any other code (createtopics.go).
func createWithConn(brokers string, config kafka.TopicConfig) error {
	conn, err := kafka.Dial("tcp", brokers)
	if err != nil {
		return err
	}
	defer conn.Close()
	controller, err := conn.Controller()
	if err != nil {
		return err
	}
	address := net.JoinHostPort(controller.Host, strconv.Itoa(controller.Port))
	controllerConn, err := kafka.Dial("tcp", address)
	if err != nil {
		return err
	}
	defer controllerConn.Close()
	_ = controllerConn.SetDeadline(time.Now().Add(15 * time.Second))
	return controllerConn.CreateTopics(config)
}

// ANCHOR_END: conn

// ANCHOR: client
// createWithClient uses kafka.Client: one error per topic, wrapping the
// broker's error message when it sent one.
func createWithClient(brokers string, config kafka.TopicConfig) error {
	client := &kafka.Client{Addr: kafka.TCP(brokers), Timeout: 15 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	response, err := client.CreateTopics(ctx, &kafka.CreateTopicsRequest{
		Topics: []kafka.TopicConfig{config},
	})
	if err != nil {
		return err
	}
	return response.Errors[config.Topic]
}

// ANCHOR_END: client

func report(api string, err error) {
	code := 0
	var kafkaError kafka.Error
	switch {
	case err == nil:
	case errors.As(err, &kafkaError):
		code = int(kafkaError)
	default:
		code = -1
	}
	text := "<nil>"
	if err != nil {
		text = strings.ReplaceAll(err.Error(), "\n", " ")
	}
	fmt.Printf("%s code=%d error=%s\n", api, code, text)
}

type configFlags []kafka.ConfigEntry

func (c *configFlags) String() string { return fmt.Sprint(*c) }

func (c *configFlags) Set(value string) error {
	key, val, ok := strings.Cut(value, "=")
	if !ok {
		return fmt.Errorf("want key=value, got %q", value)
	}
	*c = append(*c, kafka.ConfigEntry{ConfigName: key, ConfigValue: val})
	return nil
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(2)
}
