%% The Erlang side of the dist_cast workload: a sink server that counts the
%% casts it gets, and the loop an Erlang client runs against any sink
%% (Erlang's or fauxtp's).
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
%% it for its count, and prints the messages per second; halts at the end
%% of the input.
rounds(Server) ->
    case io:get_line("") of
        eof -> halt();
        Line ->
            [Kind, Count] = string:lexemes(string:trim(Line), " "),
            N = list_to_integer(Count),
            Payload = payload(list_to_atom(Kind)),
            Before = gen_server:call(Server, count),
            T0 = erlang:monotonic_time(nanosecond),
            ok = casts(Server, {data, Payload}, N),
            Expected = Before + N,
            Expected = gen_server:call(Server, count, 120000),
            Elapsed = erlang:monotonic_time(nanosecond) - T0,
            io:format("~p~n", [N * 1.0e9 / Elapsed]),
            rounds(Server)
    end.

%% What each kind of message carries: a small tuple, 1 KiB, 64 KiB.
payload(small) -> {point, 1, 2};
payload(kib) -> binary:copy(<<"x">>, 1024);
payload(kib64) -> binary:copy(<<"x">>, 65536).

casts(_Server, _Message, 0) -> ok;
casts(Server, Message, N) ->
    gen_server:cast(Server, Message),
    casts(Server, Message, N - 1).
