%% Erlang/OTP ssh as an SSH server peer for the harness's peer zoo.
%%
%% main/0 starts ssh:daemon with the test user's password, the authorized keys in ~/.ssh
%% (user_dir), the host keys the entrypoint copied (system_dir), the SFTP subsystem, and this
%% module as the session channel handler (ssh_cli): "exec" and "shell" run /bin/sh through
%% relay.pl, which gives the command real stdin/stdout/stderr pipes (an Erlang port has no
%% separate stderr and cannot half-close stdin) and frames them over the port: to the relay
%% <<0, Data>> (stdin) and <<1>> (EOF); from it <<1, Data>> (stdout), <<2, Data>> (stderr),
%% <<3, Status:32>> (exit status, after all output).
-module(zoo_erlang).
-behaviour(ssh_server_channel).
-export([main/0, init/1, handle_msg/2, handle_ssh_msg/2, terminate/2]).

-record(state, {cm, channel, port}).

setting(Name) ->
    case os:getenv(Name) of
        false -> erlang:error({not_set, Name});
        Value -> Value
    end.

main() ->
    {ok, _} = application:ensure_all_started(ssh),
    {ok, Address} = inet:parse_address(setting("HARNESS_LISTEN")),
    Port = list_to_integer(setting("HARNESS_PORT")),
    KeyDir = filename:dirname(hd(string:lexemes(setting("HARNESS_HOST_KEYS"), " "))),
    Options = [{system_dir, KeyDir},
               {user_dir, filename:dirname(setting("HARNESS_AUTHORIZED_KEYS"))},
               {user_passwords, [{setting("HARNESS_USER"), setting("HARNESS_PASSWORD")}]},
               {auth_methods, "publickey,password"},
               {ssh_cli, {?MODULE, []}},
               {subsystems, [ssh_sftpd:subsystem_spec([{cwd, os:getenv("HOME")}])]}],
    case ssh:daemon(Address, Port, Options) of
        {ok, _Daemon} ->
            io:format(standard_error, "zoo: erlang ssh ~s listening on ~s:~p~n",
                      [ssh_version(), setting("HARNESS_LISTEN"), Port]),
            receive stop -> ok end;
        {error, eaddrinuse} ->
            io:format(standard_error, "zoo erlang server: Address already in use~n", []),
            erlang:halt(1);
        {error, Reason} ->
            io:format(standard_error, "zoo erlang server: ~p~n", [Reason]),
            erlang:halt(2)
    end.

ssh_version() ->
    {ok, Version} = application:get_key(ssh, vsn),
    Version.

init([]) ->
    {ok, #state{}}.

handle_msg({ssh_channel_up, Channel, Cm}, State) ->
    {ok, State#state{cm = Cm, channel = Channel}};
handle_msg({Port, {data, <<1, Data/binary>>}}, #state{port = Port, cm = Cm, channel = Ch} = State) ->
    ok = ssh_connection:send(Cm, Ch, Data),
    {ok, State};
handle_msg({Port, {data, <<2, Data/binary>>}}, #state{port = Port, cm = Cm, channel = Ch} = State) ->
    ok = ssh_connection:send(Cm, Ch, 1, Data),
    {ok, State};
handle_msg({Port, {data, <<3, Status:32>>}}, #state{port = Port, cm = Cm, channel = Ch} = State) ->
    ssh_connection:exit_status(Cm, Ch, Status),
    ssh_connection:send_eof(Cm, Ch),
    {stop, Ch, State};
handle_msg({Port, {exit_status, _}}, #state{port = Port, channel = Ch} = State) ->
    {stop, Ch, State};
handle_msg(_Message, State) ->
    {ok, State}.

handle_ssh_msg({ssh_cm, Cm, {exec, Ch, WantReply, Command}}, State) ->
    start(Cm, Ch, WantReply, ["-c", Command], State);
handle_ssh_msg({ssh_cm, Cm, {shell, Ch, WantReply}}, State) ->
    start(Cm, Ch, WantReply, [], State);
handle_ssh_msg({ssh_cm, Cm, {data, Ch, 0, Data}}, #state{port = Port} = State) when Port =/= undefined ->
    port_command(Port, <<0, Data/binary>>),
    ssh_connection:adjust_window(Cm, Ch, byte_size(Data)),
    {ok, State};
handle_ssh_msg({ssh_cm, Cm, {data, Ch, _, Data}}, State) ->
    ssh_connection:adjust_window(Cm, Ch, byte_size(Data)),
    {ok, State};
handle_ssh_msg({ssh_cm, _Cm, {eof, _Ch}}, #state{port = Port} = State) when Port =/= undefined ->
    port_command(Port, <<1>>),
    {ok, State};
handle_ssh_msg({ssh_cm, _Cm, {closed, Ch}}, State) ->
    {stop, Ch, State};
handle_ssh_msg({ssh_cm, Cm, Request}, State) when element(3, Request) =:= true ->
    %% pty-req, env, ... with want-reply: refused (this peer runs commands without a pty).
    ssh_connection:reply_request(Cm, true, failure, element(2, Request)),
    {ok, State};
handle_ssh_msg(_Message, State) ->
    {ok, State}.

start(Cm, Ch, WantReply, ShellArgs, #state{port = undefined} = State) ->
    Port = open_port({spawn_executable, "/usr/bin/perl"},
                     [{args, ["/opt/zoo/relay.pl", "/bin/sh" | ShellArgs]}, {packet, 4}, binary,
                      exit_status, use_stdio]),
    ssh_connection:reply_request(Cm, WantReply, success, Ch),
    {ok, State#state{port = Port}};
start(Cm, Ch, WantReply, _ShellArgs, State) ->
    ssh_connection:reply_request(Cm, WantReply, failure, Ch),
    {ok, State}.

terminate(_Reason, #state{port = Port}) when is_port(Port) ->
    catch port_close(Port),
    ok;
terminate(_Reason, _State) ->
    ok.
