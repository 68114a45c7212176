// A small SSH server on golang.org/x/crypto/ssh for the harness's peer zoo: the test user
// logs in with its password or an authorized key; "exec" and "shell" run /bin/sh with the
// channel as stdin, stdout and stderr, and the exit status is sent after all output.
// Settings come from the zoo entrypoint's environment (containers/zoo/common/entrypoint.sh).
package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/crypto/ssh"
)

func setting(name string) string {
	value := os.Getenv(name)
	if value == "" {
		fmt.Fprintf(os.Stderr, "zoo go server: %s is not set\n", name)
		os.Exit(2)
	}
	return value
}

func authorizedKeys(path string) map[string]bool {
	file, err := os.Open(path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "zoo go server: %v\n", err)
		os.Exit(2)
	}
	defer file.Close()
	keys := map[string]bool{}
	scanner := bufio.NewScanner(file)
	for scanner.Scan() {
		line := strings.TrimSpace(scanner.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
		if err != nil {
			fmt.Fprintf(os.Stderr, "zoo go server: skipping authorized key: %v\n", err)
			continue
		}
		keys[string(key.Marshal())] = true
	}
	return keys
}

func main() {
	user, password := setting("HARNESS_USER"), setting("HARNESS_PASSWORD")
	keys := authorizedKeys(setting("HARNESS_AUTHORIZED_KEYS"))
	config := &ssh.ServerConfig{
		PasswordCallback: func(c ssh.ConnMetadata, given []byte) (*ssh.Permissions, error) {
			if c.User() == user && string(given) == password {
				return nil, nil
			}
			return nil, errors.New("wrong password")
		},
		PublicKeyCallback: func(c ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if c.User() == user && keys[string(key.Marshal())] {
				return nil, nil
			}
			return nil, errors.New("key not authorized")
		},
	}
	for _, path := range strings.Fields(setting("HARNESS_HOST_KEYS")) {
		pem, err := os.ReadFile(path)
		if err == nil {
			var signer ssh.Signer
			signer, err = ssh.ParsePrivateKey(pem)
			if err == nil {
				config.AddHostKey(signer)
			}
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "zoo go server: host key %s: %v\n", path, err)
			os.Exit(2)
		}
	}
	address := net.JoinHostPort(setting("HARNESS_LISTEN"), setting("HARNESS_PORT"))
	listener, err := net.Listen("tcp", address)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			fmt.Fprintln(os.Stderr, "zoo go server: Address already in use")
		}
		fmt.Fprintf(os.Stderr, "zoo go server: %v\n", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "zoo: go x/crypto/ssh listening on %s\n", address)
	for {
		conn, err := listener.Accept()
		if err != nil {
			fmt.Fprintf(os.Stderr, "zoo go server: accept: %v\n", err)
			continue
		}
		go serve(conn, config)
	}
}

func serve(conn net.Conn, config *ssh.ServerConfig) {
	server, channels, requests, err := ssh.NewServerConn(conn, config)
	if err != nil {
		fmt.Fprintf(os.Stderr, "zoo go server: handshake: %v\n", err)
		return
	}
	defer server.Close()
	go ssh.DiscardRequests(requests)
	for newChannel := range channels {
		if newChannel.ChannelType() != "session" {
			newChannel.Reject(ssh.UnknownChannelType, "only session channels")
			continue
		}
		channel, channelRequests, err := newChannel.Accept()
		if err != nil {
			continue
		}
		go session(channel, channelRequests)
	}
}

func session(channel ssh.Channel, requests <-chan *ssh.Request) {
	started := false
	for request := range requests {
		var argv []string
		switch request.Type {
		case "exec":
			var payload struct{ Command string }
			if ssh.Unmarshal(request.Payload, &payload) == nil {
				argv = []string{"/bin/sh", "-c", payload.Command}
			}
		case "shell":
			argv = []string{"/bin/sh"}
		}
		ok := argv != nil && !started
		if request.WantReply {
			request.Reply(ok, nil)
		}
		if ok {
			started = true
			go run(channel, argv)
		}
	}
}

func run(channel ssh.Channel, argv []string) {
	defer channel.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(channel.Stderr(), "cannot start: %v\n", err)
		channel.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{127}))
		return
	}
	go func() {
		io.Copy(stdin, channel)
		stdin.Close()
	}()
	var output sync.WaitGroup
	output.Add(2)
	go func() { io.Copy(channel, stdout); output.Done() }()
	go func() { io.Copy(channel.Stderr(), stderr); output.Done() }()
	output.Wait()
	status := 0
	if err := cmd.Wait(); err != nil {
		var exitError *exec.ExitError
		if errors.As(err, &exitError) {
			status = exitError.ExitCode()
		} else {
			status = 255
		}
	}
	if status < 0 { // killed by a signal
		status = 255
	}
	channel.CloseWrite()
	channel.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{uint32(status)}))
}
