"""Benchmarks behind `harness bench` (issue 9): our client and server against paramiko, AsyncSSH
and OpenSSH on loopback. Never part of the test suite's pass/fail; see docs/PERFORMANCE.md."""
