%% The Erlang side of the dist_call workload: the counter server, and the
%% loops an Erlang client runs against any counter (Erlang's or fauxtp's).
-module(bench_counter).
-behaviour(gen_server).
-export([start/1, init/1, handle_call/3, handle_cast/2, handle_info/2]).
-export([latency/2, throughput/3, rounds/4, wait_for/1]).

start(Name) -> gen_server:start({local, Name}, ?MODULE, 0, []).

init(N) -> {ok, N}.

handle_call({add, K}, _From, N) -> {reply, N + K, N + K}.
handle_cast(_Request, N) -> {noreply, N}.
handle_info(_Message, N) -> {noreply, N}.

%% Nanoseconds per call, for N sequential calls.
latency(Server, N) ->
    T0 = erlang:monotonic_time(nanosecond),
    ok = calls(Server, N),
    (erlang:monotonic_time(nanosecond) - T0) / N.

%% Calls per second, with Callers processes making PerCaller calls each.
throughput(Server, Callers, PerCaller) ->
    Self = self(),
    T0 = erlang:monotonic_time(nanosecond),
    [spawn_link(fun() -> ok = calls(Server, PerCaller), Self ! done end)
     || _ <- lists:seq(1, Callers)],
    [receive done -> ok end || _ <- lists:seq(1, Callers)],
    Callers * PerCaller * 1.0e9 / (erlang:monotonic_time(nanosecond) - T0).

%% Runs a round (Sequential calls for the latency, then Callers processes
%% making PerCaller calls each) for each line read from standard input,
%% and prints its two figures; halts at the end of the input.
rounds(Server, Sequential, Callers, PerCaller) ->
    case io:get_line("") of
        eof -> halt();
        _ ->
            Latency = latency(Server, Sequential),
            Throughput = throughput(Server, Callers, PerCaller),
            io:format("~p~n~p~n", [Latency, Throughput]),
            rounds(Server, Sequential, Callers, PerCaller)
    end.

calls(_Server, 0) -> ok;
calls(Server, N) ->
    _ = gen_server:call(Server, {add, 1}),
    calls(Server, N - 1).

%% Waits until Node answers a ping.
wait_for(Node) ->
    case net_adm:ping(Node) of
        pong -> ok;
        pang -> timer:sleep(10), wait_for(Node)
    end.
