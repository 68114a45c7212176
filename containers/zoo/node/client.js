// node's ssh2 as an SSH client for the harness's peer zoo:
//
//   node-ssh-client -p PORT -l USER [-i KEY | -password-env VAR] [-known-hosts FILE] HOST COMMAND
//
// runs COMMAND with this process's stdin, stdout and stderr and exits with the remote exit
// status (255 when the connection or the login failed, as ssh does). Without -known-hosts any
// host key is accepted.
'use strict';
const fs = require('fs');
const { Client } = require('ssh2');

function fail(message) {
  process.stderr.write(`node-ssh-client: ${message}\n`);
  process.exit(255);
}

function parseArgs(argv) {
  const args = { port: 22, user: process.env.USER };
  let i = 0;
  for (; i + 1 < argv.length && argv[i].startsWith('-'); i += 2) {
    const [option, value] = [argv[i], argv[i + 1]];
    if (option === '-p') args.port = Number(value);
    else if (option === '-l') args.user = value;
    else if (option === '-i') args.privateKey = fs.readFileSync(value);
    else if (option === '-password-env') args.password = process.env[value];
    else if (option === '-known-hosts') args.knownHosts = value;
    else fail(`unknown option ${option}`);
  }
  if (argv.length - i !== 2) fail('usage: node-ssh-client [options] HOST COMMAND');
  [args.host, args.command] = argv.slice(i);
  return args;
}

function knownKeys(path, host, port) {
  const name = port === 22 ? host : `[${host}]:${port}`;
  return fs.readFileSync(path, 'utf8').split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields.length >= 3 && fields[0].split(',').includes(name))
    .map((fields) => Buffer.from(fields[2], 'base64'));
}

const args = parseArgs(process.argv.slice(2));
const config = { host: args.host, port: args.port, username: args.user, readyTimeout: 30000 };
if (args.privateKey) config.privateKey = args.privateKey;
if (args.password !== undefined) config.password = args.password;
if (args.knownHosts) {
  const keys = knownKeys(args.knownHosts, args.host, args.port);
  config.hostVerifier = (key) => keys.some((known) => known.equals(key));
}
const connection = new Client();
connection.on('ready', () => {
  connection.exec(args.command, (error, channel) => {
    if (error) fail(`exec: ${error.message}`);
    let status = 255;
    channel.on('exit', (code) => { status = code === null ? 255 : code; });
    channel.on('close', () => {
      connection.end();
      process.stdout.write('', () => process.exit(status));
    });
    channel.pipe(process.stdout);
    channel.stderr.pipe(process.stderr);
    process.stdin.pipe(channel);
  });
});
connection.on('error', (error) => fail(error.message));
connection.connect(config);
