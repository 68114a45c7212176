#!/usr/bin/ruby
# Ruby Net::SSH as an SSH client for the harness's peer zoo:
#
#   net-ssh-client -p PORT -l USER [-i KEY | -password-env VAR] [-known-hosts FILE] HOST COMMAND
#
# runs COMMAND and exits with the remote exit status (255: connection or login failed). Its
# stdin is read to the end first and then sent, followed by EOF (enough for a test client).
# Without -known-hosts any host key is accepted.
require 'net/ssh'

def fail_with(message)
  $stderr.puts "net-ssh-client: #{message}"
  exit 255
end

options = { port: 22, non_interactive: true, timeout: 30, verify_host_key: :never,
            global_known_hosts_file: [], user_known_hosts_file: [] }
user = ENV['USER']
args = ARGV.dup
while args.length > 2 && args[0].start_with?('-')
  option, value = args.shift(2)
  case option
  when '-p' then options[:port] = Integer(value)
  when '-l' then user = value
  when '-i' then options.merge!(keys: [value], keys_only: true, auth_methods: ['publickey'])
  when '-password-env' then options.merge!(password: ENV.fetch(value, ''), auth_methods: ['password'])
  when '-known-hosts' then options.merge!(user_known_hosts_file: [value], verify_host_key: :always)
  else fail_with("unknown option #{option}")
  end
end
fail_with('usage: net-ssh-client [options] HOST COMMAND') unless args.length == 2
host, command = args
input = $stdin.read
status = 255
begin
  Net::SSH.start(host, user, **options) do |ssh|
    channel = ssh.open_channel do |ch|
      ch.exec(command) do |c, success|
        fail_with('exec refused') unless success
        c.on_data { |_, data| $stdout.write(data) }
        c.on_extended_data { |_, _, data| $stderr.write(data) }
        c.on_request('exit-status') { |_, data| status = data.read_long }
        c.send_data(input) unless input.empty?
        c.eof!
      end
    end
    channel.wait
  end
rescue StandardError, Net::SSH::Exception => e
  fail_with("#{e.class}: #{e.message}")
end
$stdout.flush
exit status
