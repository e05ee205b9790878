// Command go-gateway is the benchmark's Go peer: the HTTP→NATS gateway of the shape the Go gateways
// use, with net/http and nats.go and nothing else. `POST /rr/<subject>` sends the body with
// nc.Request and answers with the reply's body; 503 when nobody listens on the subject, 504 when
// the reply does not come in time. It listens on a random loopback port and prints it on stdout.
//
// bench/run.mjs builds it in GOPATH mode against Debian's golang-github-nats-io-go-nats-dev.
package main

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// requestTimeout matches the other targets' 5 s.
const requestTimeout = 5 * time.Second

func main() {
	nc, err := nats.Connect(os.Getenv("NATS_URL"), nats.Name("bench-go-gateway"))
	if err != nil {
		log.Fatalf("nats: %v", err)
	}
	defer nc.Close()

	http.HandleFunc("/rr/", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		subject := strings.TrimPrefix(r.URL.Path, "/rr/")
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		reply, err := nc.Request(subject, body, requestTimeout)
		switch {
		case errors.Is(err, nats.ErrNoResponders):
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		case errors.Is(err, nats.ErrTimeout):
			http.Error(w, err.Error(), http.StatusGatewayTimeout)
			return
		case err != nil:
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		contentType := reply.Header.Get("Content-Type")
		if contentType == "" {
			contentType = "application/octet-stream"
		}
		w.Header().Set("Content-Type", contentType)
		// Without it net/http chunks any body over its 2 KiB buffer; the Node targets send a length.
		w.Header().Set("Content-Length", strconv.Itoa(len(reply.Data)))
		_, _ = w.Write(reply.Data)
	})

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatalf("listen: %v", err)
	}
	fmt.Println(ln.Addr().(*net.TCPAddr).Port)
	log.Fatal(http.Serve(ln, nil))
}
