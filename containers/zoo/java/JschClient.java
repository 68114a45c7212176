// JSch (Debian's libjsch-java; the jar is JSch 0.1.54) as an SSH client for the peer zoo:
//
//   jsch-client -p PORT -l USER [-i KEY | -password-env VAR] [-known-hosts FILE] HOST COMMAND
//
// runs COMMAND with this process's stdin, stdout and stderr and exits with the remote exit
// status (255: connection or login failed). Without -known-hosts any host key is accepted.
import com.jcraft.jsch.ChannelExec;
import com.jcraft.jsch.JSch;
import com.jcraft.jsch.JSchException;
import com.jcraft.jsch.Session;

public final class JschClient {
    private static void fail(String message) {
        System.err.println("jsch-client: " + message);
        System.exit(255);
    }

    public static void main(String[] argv) throws Exception {
        int port = 22;
        String user = System.getenv("USER"), key = null, password = null, knownHosts = null;
        int i = 0;
        for (; i + 1 < argv.length && argv[i].startsWith("-") && argv.length - i > 2; i += 2) {
            switch (argv[i]) {
                case "-p": port = Integer.parseInt(argv[i + 1]); break;
                case "-l": user = argv[i + 1]; break;
                case "-i": key = argv[i + 1]; break;
                case "-password-env": password = System.getenv(argv[i + 1]); break;
                case "-known-hosts": knownHosts = argv[i + 1]; break;
                default: fail("unknown option " + argv[i]);
            }
        }
        if (argv.length - i != 2) fail("usage: jsch-client [options] HOST COMMAND");
        JSch jsch = new JSch();
        try {
            if (key != null) jsch.addIdentity(key);
            if (knownHosts != null) jsch.setKnownHosts(knownHosts);
            Session session = jsch.getSession(user, argv[i], port);
            session.setConfig("StrictHostKeyChecking", knownHosts != null ? "yes" : "no");
            session.setConfig("PreferredAuthentications", key != null ? "publickey" : "password");
            if (password != null) session.setPassword(password);
            session.connect(30000);
            ChannelExec channel = (ChannelExec) session.openChannel("exec");
            channel.setCommand(argv[i + 1]);
            channel.setInputStream(System.in, true);
            channel.setOutputStream(System.out, true);
            channel.setErrStream(System.err, true);
            channel.connect(30000);
            while (!channel.isClosed()) Thread.sleep(10);
            int status = channel.getExitStatus();
            channel.disconnect();
            session.disconnect();
            System.out.flush();
            System.err.flush();
            System.exit(status < 0 ? 255 : status);
        } catch (JSchException e) {
            fail(e.getMessage());
        }
    }
}
