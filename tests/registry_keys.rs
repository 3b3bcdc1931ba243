//! `fauxtp::registry::Registry`: processes by key with a value, as
//! Elixir's `Registry`: unique and duplicate keys, lookups, dispatch,
//! matching, counts, partitions, and entries that go with their process.

mod common;

use fauxtp::prelude::*;
use fauxtp::registry::{KeyError, Keys, Registry};

/// A process that waits until told to end.
fn idle() -> Pid<String> {
    fauxtp::spawn(|mut ctx: Ctx<String>| async move {
        let _ = ctx.recv().await;
        Ok(())
    })
}

#[tokio::test]
async fn a_unique_key_names_one_live_process() {
    let reg: Registry<&'static str, u32> = Registry::new(Keys::Unique);
    let a = idle();
    let b = idle();
    reg.register("db", &a, 1).unwrap();
    assert_eq!(
        reg.register("db", &b, 2),
        Err(KeyError::Taken { owner: a.any() })
    );
    assert_eq!(reg.whereis::<String>(&"db"), Ok(a.clone()));
    assert_eq!(
        reg.whereis::<u64>(&"db"),
        Err(KeyError::WrongType {
            expected: "u64",
            found: "alloc::string::String"
        })
    );
    assert_eq!(reg.whereis::<String>(&"cache"), Err(KeyError::NotFound));
    assert_eq!(reg.lookup(&"db"), [(a.any(), 1)]);

    // The entry goes with the process, before its monitors hear of it:
    // the key is free for the next one at once.
    let mut me = Ctx::<()>::detached();
    let watch = me.monitor(&a);
    a.send("stop").unwrap();
    common::down(&mut me, watch).await;
    assert!(reg.lookup(&"db").is_empty());
    reg.register("db", &b, 2).unwrap();
    assert_eq!(reg.whereis::<String>(&"db"), Ok(b.clone()));
    b.send("stop").unwrap();
}

#[tokio::test]
async fn duplicate_keys_hold_many_entries_in_order() {
    let reg: Registry<String, &'static str> = Registry::new(Keys::Duplicate);
    let a = idle();
    let b = idle();
    let topic = "news".to_owned();
    reg.register(topic.clone(), &a, "first").unwrap();
    reg.register(topic.clone(), &b, "second").unwrap();
    reg.register(topic.clone(), &a, "third").unwrap();
    assert_eq!(
        reg.lookup(&topic),
        [(a.any(), "first"), (b.any(), "second"), (a.any(), "third")]
    );
    assert_eq!(reg.count(), 3);
    assert_eq!(reg.keys(&a), [topic.clone(), topic.clone()]);
    assert_eq!(reg.whereis::<String>(&topic), Err(KeyError::NotUnique));
    assert_eq!(
        reg.match_values(&topic, |v| v.starts_with('t')),
        [(a.any(), "third")]
    );
    // Unregistering takes all of a process's entries under the key.
    assert!(reg.unregister(&topic, &a));
    assert!(!reg.unregister(&topic, &a));
    assert_eq!(reg.lookup(&topic), [(b.any(), "second")]);
    assert!(reg.keys(&a).is_empty());
    a.send("stop").unwrap();
    b.send("stop").unwrap();
}

#[tokio::test]
async fn dispatch_reaches_subscribers_of_any_message_type() {
    let reg: Registry<&'static str, ()> = Registry::new(Keys::Duplicate);
    let mut strings = Ctx::<String>::detached();
    let mut numbers = Ctx::<u32>::detached();
    reg.register("events", &strings.pid(), ()).unwrap();
    reg.register("events", &numbers.pid(), ()).unwrap();
    let mut reached = 0;
    reg.dispatch(&"events", |entries| {
        for (pid, ()) in entries {
            if let Some(pid) = pid.downcast::<String>() {
                pid.send("hello").unwrap();
            } else if let Some(pid) = pid.downcast::<u32>() {
                pid.send(7u32).unwrap();
            }
            reached += 1;
        }
    });
    assert_eq!(reached, 2);
    assert_eq!(common::next(&mut strings).await, "hello");
    assert_eq!(common::next(&mut numbers).await, 7);
    // No entries: the function is not called.
    reg.dispatch(&"nothing", |_| panic!("called for no entries"));
}

#[tokio::test]
async fn an_ended_process_cannot_register() {
    let reg: Registry<u8, ()> = Registry::new(Keys::Unique);
    let mut me = Ctx::<()>::detached();
    let (gone, watch) = me.spawn_monitor(|_: Ctx<String>| async { Ok(()) });
    common::down(&mut me, watch).await;
    assert_eq!(
        reg.register(1, &gone, ()),
        Err(KeyError::NoProc { pid: gone.any() })
    );
    assert_eq!(reg.count(), 0);
}

#[tokio::test]
async fn a_dropped_registry_is_not_a_problem_for_its_processes() {
    let a = idle();
    {
        let reg: Registry<u8, ()> = Registry::new(Keys::Unique);
        reg.register(1, &a, ()).unwrap();
    }
    let mut me = Ctx::<()>::detached();
    let watch = me.monitor(&a);
    a.send("stop").unwrap();
    assert_eq!(common::down(&mut me, watch).await, ExitReason::Normal);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_writers_on_many_partitions_lose_nothing() {
    let reg: Registry<u32, u32> = Registry::with_partitions(Keys::Unique, 8);
    let mut me = Ctx::<()>::detached();
    let mut owners = Vec::new();
    for writer in 0..8u32 {
        let reg = reg.clone();
        let (pid, watch) = me.spawn_monitor(move |mut ctx: Ctx<String>| async move {
            for n in 0..500 {
                reg.register(writer * 1_000 + n, &ctx.pid(), n).unwrap();
            }
            let _ = ctx.recv().await;
            Ok(())
        });
        owners.push((pid, watch));
    }
    fauxtp::testing::wait_for(|| reg.count() == 4_000, common::WAIT)
        .await
        .unwrap();
    assert_eq!(reg.keys(&owners[3].0).len(), 500);
    for (pid, _) in &owners {
        pid.send("stop").unwrap();
    }
    for (_, watch) in owners {
        common::down(&mut me, watch).await;
    }
    assert_eq!(reg.count(), 0);
}

/// A server to start under a key.
struct Account {
    balance: i64,
}

#[genserver]
impl Account {
    fn init(balance: i64) -> Self {
        Account { balance }
    }

    #[call]
    fn balance(&self) -> i64 {
        self.balance
    }

    #[cast]
    fn crash(&mut self) {
        panic!("the account crashed");
    }
}

#[tokio::test]
async fn a_server_started_via_a_key_is_reachable_by_it() {
    let accounts: Registry<u64, ()> = Registry::new(Keys::Unique);
    let account = Account::start_via(accounts.via(7, ()), 100).await.unwrap();
    let found: Pid<AccountMsg> = accounts.whereis(&7).unwrap();
    assert_eq!(found, account);
    assert_eq!(found.balance().await, Ok(100));
    // The key is taken: a second start fails, and starts nothing.
    let error = Account::start_via(accounts.via(7, ()), 5)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, fauxtp::StartError::Via { error: KeyError::Taken { owner }, .. } if *owner == account.any()),
        "{error:?}"
    );
    assert_eq!(accounts.count(), 1);
}

#[tokio::test]
async fn a_supervised_child_stays_reachable_by_its_key_across_restarts() {
    use fauxtp::supervisor::{Strategy, Supervisor, SupervisorSpec};
    let accounts: Registry<u64, ()> = Registry::new(Keys::Unique);
    let spec = SupervisorSpec::new(Strategy::OneForOne)
        .child(Account::child(50).id("account").via(accounts.via(9, ())));
    let _sup = Supervisor::start(spec).await.unwrap();
    let first: Pid<AccountMsg> = accounts.whereis(&9).unwrap();
    let mut me = Ctx::<()>::detached();
    let watch = me.monitor(&first);
    first.crash().unwrap();
    common::down(&mut me, watch).await;
    fauxtp::testing::wait_for(
        || {
            accounts
                .whereis::<AccountMsg>(&9)
                .is_ok_and(|pid| pid != first)
        },
        common::WAIT,
    )
    .await
    .unwrap();
    let second: Pid<AccountMsg> = accounts.whereis(&9).unwrap();
    assert_eq!(second.balance().await, Ok(50));
}
