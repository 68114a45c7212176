// A small SSH client on golang.org/x/crypto/ssh for the harness's peer zoo:
//
//	go-ssh-client [-p PORT] [-l USER] [-i KEY | -password-env VAR] [-known-hosts FILE]
//	              [-kex LIST] [-ciphers LIST] [-macs LIST] [-hostkeyalgos LIST] HOST COMMAND
//
// connects, authenticates with the key or the password read from the named environment
// variable, runs COMMAND with this process's stdin, stdout and stderr, and exits with the
// remote exit status (255 when the connection or the login failed, as ssh does).
package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "go-ssh-client: "+format+"\n", args...)
	os.Exit(255)
}

func list(value string) []string {
	if value == "" {
		return nil
	}
	return strings.Split(value, ",")
}

func main() {
	port := flag.Int("p", 22, "port")
	user := flag.String("l", os.Getenv("USER"), "user name")
	keyPath := flag.String("i", "", "private key (OpenSSH or PEM format, unencrypted)")
	passwordEnv := flag.String("password-env", "", "environment variable holding the password")
	knownHosts := flag.String("known-hosts", "", "known_hosts file (empty: accept any host key)")
	kex := flag.String("kex", "", "key exchange algorithms, comma-separated")
	ciphers := flag.String("ciphers", "", "ciphers, comma-separated")
	macs := flag.String("macs", "", "MACs, comma-separated")
	hostKeyAlgorithms := flag.String("hostkeyalgos", "", "host key algorithms, comma-separated")
	timeout := flag.Duration("timeout", 30*time.Second, "connect and handshake timeout")
	flag.Parse()
	if flag.NArg() != 2 {
		fail("usage: go-ssh-client [options] HOST COMMAND")
	}
	config := &ssh.ClientConfig{User: *user, Timeout: *timeout, HostKeyAlgorithms: list(*hostKeyAlgorithms)}
	config.KeyExchanges, config.Ciphers, config.MACs = list(*kex), list(*ciphers), list(*macs)
	if *knownHosts != "" {
		callback, err := knownhosts.New(*knownHosts)
		if err != nil {
			fail("known hosts: %v", err)
		}
		config.HostKeyCallback = callback
	} else {
		config.HostKeyCallback = ssh.InsecureIgnoreHostKey()
	}
	if *keyPath != "" {
		pem, err := os.ReadFile(*keyPath)
		if err != nil {
			fail("%v", err)
		}
		signer, err := ssh.ParsePrivateKey(pem)
		if err != nil {
			fail("key %s: %v", *keyPath, err)
		}
		config.Auth = append(config.Auth, ssh.PublicKeys(signer))
	}
	if *passwordEnv != "" {
		config.Auth = append(config.Auth, ssh.Password(os.Getenv(*passwordEnv)))
	}
	address := net.JoinHostPort(flag.Arg(0), strconv.Itoa(*port))
	client, err := ssh.Dial("tcp", address, config)
	if err != nil {
		fail("%v", err)
	}
	defer client.Close()
	session, err := client.NewSession()
	if err != nil {
		fail("session: %v", err)
	}
	session.Stdin, session.Stdout, session.Stderr = os.Stdin, os.Stdout, os.Stderr
	err = session.Run(flag.Arg(1))
	var exitError *ssh.ExitError
	switch {
	case err == nil:
		os.Exit(0)
	case errors.As(err, &exitError):
		os.Exit(exitError.ExitStatus())
	default:
		fail("%v", err)
	}
}
