#!/usr/bin/perl
# Runs a command for zoo_erlang.erl with real stdin/stdout/stderr pipes, framed over this
# process's stdin/stdout as {packet, 4} messages (see zoo_erlang.erl for the frame types).
# The command's stdin is written without blocking (a full pipe must never stop us reading
# its output), so `cat` of any size cannot deadlock.
use strict;
use warnings;
use IO::Select;
use POSIX qw(:sys_wait_h);
use Fcntl qw(F_GETFL F_SETFL O_NONBLOCK);

$SIG{PIPE} = 'IGNORE';
pipe(my $in_r, my $in_w) or die "pipe: $!";
pipe(my $out_r, my $out_w) or die "pipe: $!";
pipe(my $err_r, my $err_w) or die "pipe: $!";
my $pid = fork() // die "fork: $!";
if ($pid == 0) {
    open(STDIN, '<&', $in_r) or POSIX::_exit(127);
    open(STDOUT, '>&', $out_w) or POSIX::_exit(127);
    open(STDERR, '>&', $err_w) or POSIX::_exit(127);
    close($_) for ($in_r, $in_w, $out_r, $out_w, $err_r, $err_w);
    exec { $ARGV[0] } @ARGV or POSIX::_exit(127);
}
close($_) for ($in_r, $out_w, $err_w);
binmode($_) for (\*STDIN, \*STDOUT, $in_w, $out_r, $err_r);
fcntl($in_w, F_SETFL, fcntl($in_w, F_GETFL, 0) | O_NONBLOCK);

sub emit {
    my ($type, $payload) = @_;
    my $frame = pack('N', 1 + length($payload)) . chr($type) . $payload;
    while (length $frame) {
        my $n = syswrite(STDOUT, $frame);
        exit 1 unless defined $n;    # the Erlang side went away
        substr($frame, 0, $n) = '';
    }
}

my ($frames, $pending, $stdin_open, $close_stdin) = ('', '', 1, 0);
my %streams = (fileno($out_r) => [$out_r, 1], fileno($err_r) => [$err_r, 2]);
my $readers = IO::Select->new(\*STDIN, $out_r, $err_r);
while (%streams) {
    my $writers = IO::Select->new();
    $writers->add($in_w) if $stdin_open && length $pending;
    my ($readable, $writable) = IO::Select->select($readers, $writers, undef);
    for my $fh (@{ $writable || [] }) {
        my $n = syswrite($in_w, $pending);
        if (defined $n) { substr($pending, 0, $n) = '' }
        elsif (!$!{EAGAIN}) { close($in_w); $stdin_open = 0; $pending = '' }    # the command stopped reading
    }
    if ($stdin_open && $close_stdin && !length $pending) { close($in_w); $stdin_open = 0 }
    for my $fh (@{ $readable || [] }) {
        if ($fh == \*STDIN) {
            next if length $pending;    # one frame's data at a time: the rest waits in the port
            my $n = sysread(STDIN, $frames, 65536, length $frames);
            if (!$n) { kill('TERM', $pid); exit 0 }    # the channel is gone
            while (length($frames) >= 4) {
                my $len = unpack('N', $frames);
                last if length($frames) < 4 + $len;
                my $frame = substr($frames, 4, $len);
                substr($frames, 0, 4 + $len) = '';
                if (ord($frame) == 0) { $pending .= substr($frame, 1) if $stdin_open }
                else { $close_stdin = 1 }
            }
            if ($stdin_open && $close_stdin && !length $pending) { close($in_w); $stdin_open = 0 }
            next;
        }
        my ($handle, $type) = @{ $streams{ fileno($fh) } };
        my $n = sysread($handle, my $data, 32768);
        if ($n) { emit($type, $data) }
        else { $readers->remove($handle); delete $streams{ fileno($handle) }; close($handle) }
    }
}
waitpid($pid, 0);
my $status = WIFEXITED($?) ? WEXITSTATUS($?) : 255;
emit(3, pack('N', $status));
