%% A gen_server for the distribution tests: fauxtp nodes call it.
-module(ecounter).
-behaviour(gen_server).
-export([start/1, init/1, handle_call/3, handle_cast/2, handle_info/2]).

start(Name) -> gen_server:start({local, Name}, ?MODULE, 0, []).

init(N) -> {ok, N}.

handle_call({add, K}, _From, N) -> {reply, N + K, N + K};
handle_call(get, _From, N) -> {reply, N, N};
handle_call(crash, _From, _N) -> exit(boom);
handle_call(slow, _From, N) -> io:format("slow~n"), timer:sleep(60000), {reply, N, N}.

handle_cast(bump, N) -> {noreply, N + 1}.

handle_info(_Message, N) -> {noreply, N}.
