package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// redisClient speaks just enough RESP for PING, GET and SET, over a small
// pool of connections. A connection that fails is dropped; the next
// command dials again, so the client recovers when redis is back.
type redisClient struct {
	addr string
	pool chan *redisConn
}

type redisConn struct {
	net.Conn
	r *bufio.Reader
}

func newRedis(addr string) *redisClient {
	return &redisClient{addr: addr, pool: make(chan *redisConn, 16)}
}

// do runs one command and returns its reply: a string, an int64, or nil
// for a nil bulk string. A redis error reply is an error.
func (c *redisClient) do(ctx context.Context, args ...string) (any, error) {
	var conn *redisConn
	select {
	case conn = <-c.pool:
	default:
		d := net.Dialer{Timeout: 200 * time.Millisecond}
		nc, err := d.DialContext(ctx, "tcp", c.addr)
		if err != nil {
			return nil, err
		}
		conn = &redisConn{Conn: nc, r: bufio.NewReader(nc)}
	}
	_ = conn.SetDeadline(time.Now().Add(500 * time.Millisecond))
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	reply, err := conn.command(b.String())
	var redisErr redisError
	if err != nil && !errors.As(err, &redisErr) {
		conn.Close()
		return nil, err
	}
	select {
	case c.pool <- conn:
	default:
		conn.Close()
	}
	return reply, err
}

type redisError string

func (e redisError) Error() string { return string(e) }

// command sends a command and reads its reply.
func (c *redisConn) command(cmd string) (any, error) {
	if _, err := c.Write([]byte(cmd)); err != nil {
		return nil, err
	}
	line, err := c.r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line == "" {
		return nil, errors.New("empty reply")
	}
	switch body := line[1:]; line[0] {
	case '+':
		return body, nil
	case '-':
		return nil, redisError(body)
	case ':':
		return strconv.ParseInt(body, 10, 64)
	case '$':
		n, err := strconv.Atoi(body)
		if err != nil || n < 0 {
			return nil, err // a nil bulk string when n is -1
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(c.r, buf); err != nil {
			return nil, err
		}
		return string(buf[:n]), nil
	}
	return nil, fmt.Errorf("unexpected reply %q", line)
}
