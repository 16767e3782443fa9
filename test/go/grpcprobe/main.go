// grpcprobe is a real grpc-go client (Debian's grpc-go, GOPATH mode) that dials
// the daemon's socket path without a scheme, as kubelet-era Go clients do: the
// socket path becomes the HTTP/2 :authority. It sends raw protobuf bytes, so it
// needs no generated code.
package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

type rawCodec struct{}

func (rawCodec) Marshal(v interface{}) ([]byte, error) { return *(v.(*[]byte)), nil }
func (rawCodec) Unmarshal(data []byte, v interface{}) error {
	*(v.(*[]byte)) = append([]byte(nil), data...)
	return nil
}
func (rawCodec) Name() string { return "proto" }

// field returns the first length-delimited field number n of a protobuf message.
func field(msg []byte, n uint64) []byte {
	for i := 0; i < len(msg); {
		key, k := uvarint(msg[i:])
		i += k
		switch key & 7 {
		case 0:
			_, k = uvarint(msg[i:])
			i += k
		case 2:
			l, k := uvarint(msg[i:])
			i += k
			if key>>3 == n {
				return msg[i : i+int(l)]
			}
			i += int(l)
		case 1:
			i += 8
		case 5:
			i += 4
		default:
			return nil
		}
	}
	return nil
}

// varintField returns varint field number n of a protobuf message, and whether it was present.
func varintField(msg []byte, n uint64) (uint64, bool) {
	for i := 0; i < len(msg); {
		key, k := uvarint(msg[i:])
		i += k
		switch key & 7 {
		case 0:
			v, k := uvarint(msg[i:])
			i += k
			if key>>3 == n {
				return v, true
			}
		case 2:
			l, k := uvarint(msg[i:])
			i += k + int(l)
		case 1:
			i += 8
		case 5:
			i += 4
		default:
			return 0, false
		}
	}
	return 0, false
}

func uvarint(b []byte) (uint64, int) {
	var x uint64
	for i, c := range b {
		x |= uint64(c&0x7f) << (7 * uint(i))
		if c < 0x80 {
			return x, i + 1
		}
	}
	return 0, len(b)
}

func fail(format string, args ...interface{}) {
	fmt.Printf("FAIL "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	if len(os.Args) != 4 {
		fail("usage: grpcprobe SOCKET NAMESPACE CALLS")
	}
	socket, ns := os.Args[1], os.Args[2]
	calls, _ := strconv.Atoi(os.Args[3])

	conn, err := grpc.Dial(socket, grpc.WithInsecure(), grpc.WithBlock(),
		grpc.WithDialer(func(addr string, timeout time.Duration) (net.Conn, error) {
			return net.DialTimeout("unix", addr, timeout)
		}))
	if err != nil {
		fail("dial: %v", err)
	}
	defer conn.Close()
	ctx := metadata.AppendToOutgoingContext(context.Background(), "containerd-namespace", ns)
	codec := grpc.ForceCodec(rawCodec{})
	invoke := func(method string) []byte {
		in, out := []byte{}, []byte{}
		c, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := conn.Invoke(c, method, &in, &out, codec); err != nil {
			fail("%s: %v", method, err)
		}
		return out
	}

	version := invoke("/containerd.v1.Version/Version")
	fmt.Printf("version %s\n", field(version, 1))
	methods := []string{
		"/containerd.v1.Version/Version",
		"/containerd.v1.Containers/List",
		"/containerd.v1.services.execution.Tasks/List",
	}
	for i := 0; i < calls; i++ {
		invoke(methods[i%len(methods)])
	}
	fmt.Printf("calls ok %d on one connection\n", calls)

	health := invoke("/grpc.health.v1.Health/Check")
	if !bytes.Equal(health, []byte{0x08, 0x01}) {
		fail("health: %x", health)
	}
	fmt.Println("health SERVING")

	rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
	refl, err := conn.NewStream(rctx, &grpc.StreamDesc{ServerStreams: true, ClientStreams: true},
		"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", codec)
	if err != nil {
		fail("reflection: %v", err)
	}
	listServices := []byte{0x3a, 0x00} // list_services = ""
	if err := refl.SendMsg(&listServices); err != nil {
		fail("reflection send: %v", err)
	}
	var reply []byte
	if err := refl.RecvMsg(&reply); err != nil {
		fail("reflection recv: %v", err)
	}
	refl.CloseSend()
	rcancel()
	for _, service := range []string{"containerd.v1.services.execution.Tasks", "containerd.v1.Containers", "containerd.v1.Version", "containerd.services.content.v1.Content", "grpc.health.v1.Health"} {
		if !bytes.Contains(reply, []byte(service)) {
			fail("reflection does not list %s", service)
		}
	}
	fmt.Println("reflection lists Tasks, Containers, Version, Content, Health")

	ectx, ecancel := context.WithTimeout(ctx, 60*time.Second)
	defer ecancel()
	events, err := conn.NewStream(ectx, &grpc.StreamDesc{ServerStreams: true},
		"/containerd.v1.services.execution.Tasks/Events", codec)
	if err != nil {
		fail("events: %v", err)
	}
	empty := []byte{}
	if err := events.SendMsg(&empty); err != nil {
		fail("events send: %v", err)
	}
	events.CloseSend()
	if _, err := events.Header(); err != nil {
		fail("events header: %v", err)
	}
	fmt.Println("subscribed")
	for {
		var evt []byte
		if err := events.RecvMsg(&evt); err != nil {
			fail("events recv: %v", err)
		}
		id := field(evt, 1)
		fmt.Printf("event id=%s bytes=%d\n", id, len(evt))
		// EXIT is event type 0, which proto3 leaves out; it carries exited_at (field 5).
		if _, typed := varintField(evt, 2); !typed && field(evt, 5) != nil {
			status, _ := varintField(evt, 4)
			fmt.Printf("exit event received: status %d\n", status)
			return
		}
	}
}
