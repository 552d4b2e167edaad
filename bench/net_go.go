// net_go.go — Go's side of bench/net.sh: the servers of examples/echo.c
// and examples/httpd.c written on Go's net package, a goroutine per
// connection, so bench/netload can load both the same way. Standard
// library only, one file:
//
//	go build -o net_go bench/net_go.go
//
// Usage: net_go echo|http [-n N] [PORT]
//
//	echo  reads up to 4 KiB and writes it back until the client closes
//	      (examples/echo.c's loop, on net.Conn)
//	http  reads the request head up to the blank line, answers GET / with
//	      "hello from goroutine" in an HTTP/1.0 response and closes; 404
//	      otherwise. Hand-written, as examples/httpd.c is, not net/http:
//	      both sides then do the same work per request.
//	-n N  serve N connections, wait for them to end, and exit (default: forever)
//	PORT  on 127.0.0.1; 0 or none picks a free one. The first line printed is
//	      "listening on 127.0.0.1:PORT", as the examples print it.
//
// GOMAXPROCS comes from the environment (bench/net.sh sets 2, the Ps of
// the examples).
package main

import (
	"bytes"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
)

func echo(c net.Conn) {
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		if n <= 0 || err != nil {
			break
		}
		if w, err := c.Write(buf[:n]); w != n || err != nil {
			break
		}
	}
	c.Close()
}


// readHead reads until the blank line that ends the head, as httpd.c's.
func readHead(c net.Conn, buf []byte) ([]byte, bool) {
	n := 0
	for n < len(buf) {
		k, err := c.Read(buf[n:])
		if k <= 0 || err != nil {
			return nil, false
		}
		n += k
		if bytes.Contains(buf[:n], []byte("\r\n\r\n")) || bytes.Contains(buf[:n], []byte("\n\n")) {
			return buf[:n], true
		}
	}
	return nil, false
}

func reply(c net.Conn, status, body string) {
	out := fmt.Sprintf("HTTP/1.0 %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s",
		status, len(body), body)
	c.Write([]byte(out))
}

func httpd(c net.Conn, id int64) {
	head, ok := readHead(c, make([]byte, 2048))
	if ok {
		if bytes.HasPrefix(head, []byte("GET / ")) {
			reply(c, "200 OK", "hello from goroutine "+strconv.FormatInt(id, 10)+"\n")
		} else {
			reply(c, "404 Not Found", "not found\n")
		}
	}
	c.Close()
}

func main() {
	if len(os.Args) < 2 || (os.Args[1] != "echo" && os.Args[1] != "http") {
		fmt.Fprintln(os.Stderr, "usage: net_go echo|http [-n N] [PORT]")
		os.Exit(2)
	}
	mode := os.Args[1]
	fs := flag.NewFlagSet(mode, flag.ExitOnError)
	count := fs.Int64("n", -1, "connections to serve")
	fs.Parse(os.Args[2:])
	port := "0"
	if fs.NArg() > 0 {
		port = fs.Arg(0)
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:"+port)
	if err != nil {
		fmt.Fprintln(os.Stderr, "listen:", err)
		os.Exit(1)
	}
	fmt.Printf("listening on %s\n", ln.Addr())
	var wg sync.WaitGroup
	for i := int64(0); *count < 0 || i < *count; i++ {
		c, err := ln.Accept()
		if err != nil {
			fmt.Fprintln(os.Stderr, "accept:", err)
			continue
		}
		wg.Add(1)
		go func(c net.Conn, id int64) {
			defer wg.Done()
			if mode == "echo" {
				echo(c)
			} else {
				httpd(c, id)
			}
		}(c, i+1)
	}
	wg.Wait()
	ln.Close()
}
