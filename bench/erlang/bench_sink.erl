%% The Erlang side of the dist_cast workload: a sink server that counts the
%% casts it gets, and the loop an Erlang client runs against any sink
%% (Erlang's or fauxtp's). The sink's node also runs a second one, probe,
%% for the calls that measure how long a small message waits behind large
%% ones on the same connection.
-module(bench_sink).
-behaviour(gen_server).
-export([start/1, init/1, handle_call/3, handle_cast/2, handle_info/2]).
-export([rounds/1]).

start(Name) -> gen_server:start({local, Name}, ?MODULE, 0, []).

init(N) -> {ok, N}.

handle_call(count, _From, N) -> {reply, N, N}.
handle_cast({data, _Payload}, N) -> {noreply, N + 1}.
handle_info(_Message, N) -> {noreply, N}.

%% For each line read from standard input, "Kind Count" (Kind: small,
%% kib or kib64), casts Count messages of that kind to Server, then calls
%% it for its count, and prints the messages per second; for a line
%% "stall Size Calls", makes Calls calls to the probe on Server's node
%% while another process casts binaries of Size bytes to Server without a
%% pause (none if Size is 0), and prints the calls' 50th and 99th
%% percentile and longest times in microseconds. Halts at the end of the
%% input.
rounds(Server) ->
    case io:get_line("") of
        eof -> halt();
        Line ->
            case string:lexemes(string:trim(Line), " ") of
                ["stall", Size, Calls] ->
                    stall(Server, list_to_integer(Size), list_to_integer(Calls)),
                    rounds(Server);
                [Kind, Count] ->
                    stream(Server, Kind, Count)
            end
    end.

stream(Server, Kind, Count) ->
    N = list_to_integer(Count),
    Payload = payload(list_to_atom(Kind)),
    Before = gen_server:call(Server, count),
    T0 = erlang:monotonic_time(nanosecond),
    ok = casts(Server, {data, Payload}, N),
    Expected = Before + N,
    Expected = gen_server:call(Server, count, 120000),
    Elapsed = erlang:monotonic_time(nanosecond) - T0,
    io:format("~p~n", [N * 1.0e9 / Elapsed]),
    rounds(Server).

stall({_, Node} = Server, Size, Calls) ->
    Streamer = case Size of
        0 -> none;
        _ -> spawn(fun() -> flood(Server, {data, binary:copy(<<"x">>, Size)}) end)
    end,
    Times = lists:sort([probe({probe, Node}) || _ <- lists:seq(1, Calls)]),
    case Streamer of
        none -> ok;
        _ -> exit(Streamer, kill)
    end,
    %% What the streamer sent is counted before the next round.
    _ = gen_server:call(Server, count, 120000),
    io:format("~p ~p ~p~n", [percentile(Times, 50), percentile(Times, 99), lists:last(Times)]).

probe(Probe) ->
    T0 = erlang:monotonic_time(microsecond),
    _ = gen_server:call(Probe, count),
    erlang:monotonic_time(microsecond) - T0.

flood(Server, Message) ->
    gen_server:cast(Server, Message),
    flood(Server, Message).

percentile(Sorted, P) ->
    lists:nth(max(1, (length(Sorted) * P + 99) div 100), Sorted).

%% What each kind of message carries: a small tuple, 1 KiB, 64 KiB.
payload(small) -> {point, 1, 2};
payload(kib) -> binary:copy(<<"x">>, 1024);
payload(kib64) -> binary:copy(<<"x">>, 65536).

casts(_Server, _Message, 0) -> ok;
casts(Server, Message, N) ->
    gen_server:cast(Server, Message),
    casts(Server, Message, N - 1).
