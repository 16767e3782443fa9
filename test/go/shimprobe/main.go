// shimprobe is a real grpc-go client (Debian's grpc-go, GOPATH mode) for the
// shim's lean gRPC server (libnghttp2 underneath). It calls the test service
// of test/Containerd.UnitTests/Protos/grpc_test.proto with raw protobuf bytes,
// so it needs no generated code, and prints one line per behaviour checked.
// The NUnit side checks what only the server sees (handlers' tokens cancelled).
package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

type rawCodec struct{}

func (rawCodec) Marshal(v interface{}) ([]byte, error) { return *(v.(*[]byte)), nil }
func (rawCodec) Unmarshal(data []byte, v interface{}) error {
	*(v.(*[]byte)) = append([]byte(nil), data...)
	return nil
}
func (rawCodec) Name() string { return "proto" }

const service = "/containerd.test.grpc.Probe/"

func varint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func bytesField(b []byte, n uint64, data []byte) []byte {
	b = varint(b, n<<3|2)
	b = varint(b, uint64(len(data)))
	return append(b, data...)
}

func varintField(b []byte, n uint64, v uint64) []byte { return varint(varint(b, n<<3), v) }

func uvarint(b []byte) (uint64, int) {
	var v uint64
	for i, c := range b {
		v |= uint64(c&0x7f) << (7 * uint(i))
		if c < 0x80 {
			return v, i + 1
		}
	}
	return 0, len(b)
}

// fields decodes a message into its varint and length-delimited fields.
func fields(msg []byte) (map[uint64]uint64, map[uint64][]byte) {
	ints, blobs := map[uint64]uint64{}, map[uint64][]byte{}
	for i := 0; i < len(msg); {
		key, k := uvarint(msg[i:])
		i += k
		switch key & 7 {
		case 0:
			v, k := uvarint(msg[i:])
			i += k
			ints[key>>3] = v
		case 2:
			l, k := uvarint(msg[i:])
			i += k
			blobs[key>>3] = msg[i : i+int(l)]
			i += int(l)
		default:
			return ints, blobs
		}
	}
	return ints, blobs
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + 3)
	}
	return b
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}

func dial(socket string, conns chan<- net.Conn) *grpc.ClientConn {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := grpc.DialContext(ctx, socket, grpc.WithInsecure(), grpc.WithBlock(),
		grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, "unix", addr)
			if err == nil && conns != nil {
				conns <- c
			}
			return c, err
		}),
		grpc.WithDefaultCallOptions(grpc.ForceCodec(rawCodec{}), grpc.MaxCallRecvMsgSize(64<<20), grpc.MaxCallSendMsgSize(64<<20)))
	if err != nil {
		fail("dial %s: %v", socket, err)
	}
	return conn
}

func main() {
	if len(os.Args) != 2 {
		fail("usage: shimprobe SOCKET")
	}
	socket := os.Args[1]
	conn := dial(socket, nil)
	defer conn.Close()
	ctx := context.Background()
	call := func(ctx context.Context, method string, in []byte) ([]byte, error) {
		var out []byte
		err := conn.Invoke(ctx, service+method, &in, &out)
		return out, err
	}

	// Unary.
	out, err := call(ctx, "Echo", bytesField(nil, 1, []byte("go")))
	if _, blobs := fields(out); err != nil || string(blobs[1]) != "go" {
		fail("unary: %v %q", err, out)
	}
	fmt.Println("unary ok")

	// Server stream.
	sctx, scancel := context.WithTimeout(ctx, 30*time.Second)
	stream, err := conn.NewStream(sctx, &grpc.StreamDesc{ServerStreams: true}, service+"Count")
	if err != nil {
		fail("stream: %v", err)
	}
	req := varintField(varintField(nil, 1, 20), 2, 1000)
	if err := stream.SendMsg(&req); err != nil {
		fail("stream send: %v", err)
	}
	stream.CloseSend()
	n := 0
	for {
		var msg []byte
		if err := stream.RecvMsg(&msg); err != nil {
			if err.Error() != "EOF" {
				fail("stream recv: %v", err)
			}
			break
		}
		ints, blobs := fields(msg)
		if ints[1] != uint64(n) || len(blobs[2]) != 1000 {
			fail("stream message %d: %v", n, ints)
		}
		n++
	}
	scancel()
	if n != 20 {
		fail("stream: %d messages", n)
	}
	fmt.Println("stream ok 20")

	// Cancellation by the client.
	cctx, ccancel := context.WithCancel(ctx)
	time.AfterFunc(300*time.Millisecond, ccancel)
	_, err = call(cctx, "Hang", bytesField(nil, 1, []byte("gocancel")))
	if status.Code(err) != codes.Canceled {
		fail("cancel: %v", err)
	}
	fmt.Println("cancel ok")

	// Deadline.
	dctx, dcancel := context.WithTimeout(ctx, 300*time.Millisecond)
	_, err = call(dctx, "Hang", bytesField(nil, 1, []byte("godeadline")))
	dcancel()
	if status.Code(err) != codes.DeadlineExceeded {
		fail("deadline: %v", err)
	}
	fmt.Println("deadline ok")

	// 4 MB each way.
	big := pattern(4 << 20)
	out, err = call(ctx, "Echo", varintField(bytesField(nil, 2, big), 3, 4<<20))
	if _, blobs := fields(out); err != nil || !bytes.Equal(blobs[2], big) {
		fail("large: %v (%d bytes back)", err, len(out))
	}
	fmt.Println("large ok")

	// 100 concurrent calls on one connection.
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			text := []byte(fmt.Sprintf("sleep:%d", i%10))
			out, err := call(ctx, "Echo", bytesField(bytesField(nil, 1, text), 2, make([]byte, i*100)))
			if _, blobs := fields(out); err == nil && (!bytes.Equal(blobs[1], text) || len(blobs[2]) != i*100) {
				err = fmt.Errorf("call %d: wrong reply", i)
			}
			if err != nil {
				errs <- err
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		fail("concurrent: %v", err)
	}
	fmt.Println("concurrent ok 100")

	// Errors: code and a non-ASCII message survive; unknown methods are UNIMPLEMENTED.
	message := "nicht gefunden: Größe ✓ 100%"
	_, err = call(ctx, "Fail", bytesField(varintField(nil, 1, uint64(codes.NotFound)), 2, []byte(message)))
	if st, _ := status.FromError(err); st.Code() != codes.NotFound || st.Message() != message {
		fail("error: %v", err)
	}
	fmt.Println("error ok")
	if _, err = call(ctx, "Nope", nil); status.Code(err) != codes.Unimplemented {
		fail("unimplemented: %v", err)
	}
	fmt.Println("unimplemented ok")

	// A client whose connection vanishes mid-call: the socket closes under grpc-go.
	conns := make(chan net.Conn, 4)
	doomed := dial(socket, conns)
	raw := <-conns
	go func() {
		var in, out []byte = bytesField(nil, 1, []byte("govanish")), nil
		doomed.Invoke(ctx, service+"Hang", &in, &out)
	}()
	time.Sleep(300 * time.Millisecond)
	raw.Close()
	fmt.Println("vanished")

	// The server still serves others.
	if _, err = call(ctx, "Echo", bytesField(nil, 1, []byte("after"))); err != nil {
		fail("after vanish: %v", err)
	}
	fmt.Println("still serving")
}
