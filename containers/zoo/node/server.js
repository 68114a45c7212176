// node's ssh2 as an SSH server peer for the harness's peer zoo: the test user logs in with its
// password or an authorized key; "exec" and "shell" run /bin/sh with the channel as stdin,
// stdout and stderr, and the exit status goes out after all output (the child's 'close').
// Settings come from the zoo entrypoint's environment (containers/zoo/common/entrypoint.sh).
'use strict';
const fs = require('fs');
const { spawn } = require('child_process');
const { Server, utils } = require('ssh2');

function setting(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`zoo node server: ${name} is not set`);
    process.exit(2);
  }
  return value;
}

const USER = setting('HARNESS_USER');
const PASSWORD = setting('HARNESS_PASSWORD');
const METHODS = ['publickey', 'password'];
const authorized = fs.readFileSync(setting('HARNESS_AUTHORIZED_KEYS'), 'utf8').split('\n')
  .filter((line) => line.trim() && !line.startsWith('#'))
  .map((line) => utils.parseKey(line))
  .filter((key) => !(key instanceof Error));
const hostKeys = setting('HARNESS_HOST_KEYS').split(' ').map((path) => fs.readFileSync(path));

function authenticate(ctx) {
  if (ctx.username !== USER) return ctx.reject(METHODS);
  if (ctx.method === 'password') return ctx.password === PASSWORD ? ctx.accept() : ctx.reject(METHODS);
  if (ctx.method !== 'publickey') return ctx.reject(METHODS);
  const key = authorized.find((k) => k.getPublicSSH().equals(ctx.key.data));
  if (!key) return ctx.reject(METHODS);
  if (!ctx.signature) return ctx.accept(); // a query: "would this key do?"
  return key.verify(ctx.blob, ctx.signature, ctx.hashAlgo) === true ? ctx.accept() : ctx.reject(METHODS);
}

function run(channel, args) {
  const child = spawn('/bin/sh', args, { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin.on('error', () => {}); // the command exited without reading all its input
  channel.pipe(child.stdin);
  child.stdout.pipe(channel, { end: false });
  child.stderr.pipe(channel.stderr, { end: false });
  child.on('close', (code, signal) => {
    channel.exit(code === null ? 255 : code);
    channel.end();
  });
}

const server = new Server({ hostKeys }, (client) => {
  client.on('authentication', authenticate);
  client.on('ready', () => {
    client.on('session', (acceptSession) => {
      const session = acceptSession();
      session.on('exec', (accept, reject, info) => run(accept(), ['-c', info.command]));
      session.on('shell', (accept) => run(accept(), []));
    });
  });
  client.on('error', (error) => console.error(`zoo node server: connection: ${error.message}`));
});
server.on('error', (error) => {
  if (error.code === 'EADDRINUSE') console.error('zoo node server: Address already in use');
  console.error(`zoo node server: ${error.message}`);
  process.exit(1);
});
const version = require('ssh2/package.json').version;
server.listen(Number(setting('HARNESS_PORT')), setting('HARNESS_LISTEN'), () => {
  console.error(`zoo: ssh2 ${version} on node ${process.version} listening on ${setting('HARNESS_LISTEN')}:${setting('HARNESS_PORT')}`);
});
