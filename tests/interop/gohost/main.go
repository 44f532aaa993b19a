// gohost starts a Python plugin the way the Mattermost server does, with HashiCorp's
// go-plugin client (the same library and protocol), then takes commands on stdin, one JSON
// object per line, and answers each with one JSON line on stdout:
//
//	{"op": "ping"}                                   health check of the "plugin" service
//	{"op": "unary", "method": "/pkg.Svc/M", "request": "<base64>"}
//	{"op": "stream", "method": "/pkg.Svc/M", "requests": ["<base64>", ...]}
//	{"op": "kill"}                                   GRPCController.Shutdown, wait, exit
//
// Messages travel as raw bytes: the Python test builds and reads them with the SDK's own
// protobuf classes, so this program needs no generated code. go-plugin's log, with the
// plugin's stderr lines it parsed, goes to stderr as JSON lines.
//
// Usage: gohost [-mtls] [-unix DIR] PYTHON PLUGIN_DIR
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
)

// rawCodec passes messages through as bytes.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return *(v.(*[]byte)), nil }
func (rawCodec) Unmarshal(data []byte, v any) error {
	*(v.(*[]byte)) = append([]byte(nil), data...)
	return nil
}
func (rawCodec) Name() string { return "proto" }

// connPlugin hands out the plugin's gRPC connection itself.
type connPlugin struct{ plugin.NetRPCUnsupportedPlugin }

func (connPlugin) GRPCServer(*plugin.GRPCBroker, *grpc.Server) error {
	return errors.New("host side only")
}
func (connPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, conn *grpc.ClientConn) (any, error) {
	return conn, nil
}

type command struct {
	Op       string   `json:"op"`
	Method   string   `json:"method"`
	Request  []byte   `json:"request"`
	Requests [][]byte `json:"requests"`
}

type answer struct {
	OK        bool     `json:"ok"`
	Error     string   `json:"error,omitempty"`
	Code      string   `json:"code,omitempty"`
	Response  []byte   `json:"response,omitempty"`
	Responses [][]byte `json:"responses,omitempty"`
	Seconds   float64  `json:"seconds,omitempty"`
	Exited    bool     `json:"exited,omitempty"`
	Network   string   `json:"network,omitempty"`
	Address   string   `json:"address,omitempty"`
	Protocol  string   `json:"protocol,omitempty"`
}

func failed(err error) answer {
	a := answer{Error: err.Error()}
	if s, ok := status.FromError(err); ok {
		a.Code = s.Code().String()
	}
	return a
}

func main() {
	mtls := flag.Bool("mtls", false, "auto-mTLS, as go-plugin's AutoMTLS")
	unixDir := flag.String("unix", "", "serve over a unix socket in this directory")
	flag.Parse()
	if flag.NArg() != 2 {
		fmt.Fprintln(os.Stderr, "usage: gohost [-mtls] [-unix DIR] PYTHON PLUGIN_DIR")
		os.Exit(2)
	}
	cmd := exec.Command(flag.Arg(0), "server/plugin.py")
	cmd.Dir = flag.Arg(1)
	cmd.Env = os.Environ()
	if *unixDir != "" {
		// go-plugin's client sets this only for its container runners; the Mattermost
		// server may set it itself. The plugin then listens there instead of on TCP.
		cmd.Env = append(cmd.Env, "PLUGIN_UNIX_SOCKET_DIR="+*unixDir)
	}
	config := &plugin.ClientConfig{
		HandshakeConfig: plugin.HandshakeConfig{
			ProtocolVersion:  1,
			MagicCookieKey:   "MATTERMOST_PLUGIN",
			MagicCookieValue: "Securely message teams, anywhere.",
		},
		Plugins:          map[string]plugin.Plugin{"hooks": connPlugin{}},
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         *mtls,
		StartTimeout:     10 * time.Second,
		Logger: hclog.New(&hclog.LoggerOptions{
			Name: "gohost", Output: os.Stderr, Level: hclog.Trace, JSONFormat: true,
		}),
	}
	client := plugin.NewClient(config)
	defer client.Kill()

	out := json.NewEncoder(os.Stdout)
	rpc, err := client.Client()
	if err != nil {
		_ = out.Encode(failed(err))
		os.Exit(1)
	}
	raw, err := rpc.Dispense("hooks")
	if err != nil {
		_ = out.Encode(failed(err))
		os.Exit(1)
	}
	conn := raw.(*grpc.ClientConn)
	addr := client.ReattachConfig().Addr
	_ = out.Encode(answer{
		OK: true, Network: addr.Network(), Address: addr.String(),
		Protocol: string(client.Protocol()),
	})

	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 64<<20)
	for in.Scan() {
		var c command
		if err := json.Unmarshal(in.Bytes(), &c); err != nil {
			_ = out.Encode(failed(err))
			continue
		}
		_ = out.Encode(run(c, client, rpc, conn))
		if c.Op == "kill" {
			return
		}
	}
}

func run(c command, client *plugin.Client, rpc plugin.ClientProtocol, conn *grpc.ClientConn) answer {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	switch c.Op {
	case "ping":
		if err := rpc.Ping(); err != nil {
			return failed(err)
		}
		return answer{OK: true}
	case "unary":
		request, response := c.Request, []byte(nil)
		err := conn.Invoke(ctx, c.Method, &request, &response, grpc.ForceCodec(rawCodec{}))
		if err != nil {
			return failed(err)
		}
		return answer{OK: true, Response: response}
	case "stream":
		desc := &grpc.StreamDesc{ClientStreams: true, ServerStreams: true}
		stream, err := conn.NewStream(ctx, desc, c.Method, grpc.ForceCodec(rawCodec{}))
		if err != nil {
			return failed(err)
		}
		for _, request := range c.Requests {
			message := request
			if err := stream.SendMsg(&message); err != nil {
				return failed(err)
			}
		}
		if err := stream.CloseSend(); err != nil {
			return failed(err)
		}
		var responses [][]byte
		for {
			var message []byte
			err := stream.RecvMsg(&message)
			if errors.Is(err, io.EOF) {
				return answer{OK: true, Responses: responses}
			}
			if err != nil {
				return failed(err)
			}
			responses = append(responses, message)
		}
	case "kill":
		started := time.Now()
		client.Kill() // Shutdown, then up to 2 s for the process to exit, then SIGKILL
		return answer{OK: true, Seconds: time.Since(started).Seconds(), Exited: client.Exited()}
	}
	return answer{Error: fmt.Sprintf("unknown op %q", c.Op)}
}
