//! `fauxtp::pg`: process groups as OTP's `pg`. Each test uses groups of
//! its own (the default scope is program-wide, and the tests run in
//! parallel).

mod common;

use fauxtp::pg::{self, PgChange, PgError, PgEvent, Scope};
use fauxtp::prelude::*;

/// A process that waits until told to end.
fn idle() -> Pid<String> {
    fauxtp::spawn(|mut ctx: Ctx<String>| async move {
        let _ = ctx.recv().await;
        Ok(())
    })
}

#[tokio::test]
async fn a_process_joins_as_often_as_it_likes_and_leaves_as_often() {
    let a = idle();
    let b = idle();
    pg::join("pg-test-twice", &a).unwrap();
    pg::join("pg-test-twice", &b).unwrap();
    pg::join("pg-test-twice", &a).unwrap();
    assert_eq!(
        pg::members::<String>("pg-test-twice").unwrap(),
        [a.clone(), b.clone(), a.clone()]
    );
    pg::leave("pg-test-twice", &a).unwrap();
    assert_eq!(
        pg::members::<String>("pg-test-twice").unwrap(),
        [b.clone(), a.clone()]
    );
    pg::leave("pg-test-twice", &a).unwrap();
    assert_eq!(
        pg::leave("pg-test-twice", &a),
        Err(PgError::NotJoined {
            pid: a.any(),
            group: "pg-test-twice".into()
        })
    );
    assert_eq!(
        pg::members::<String>("pg-test-twice").unwrap(),
        std::slice::from_ref(&b)
    );
    a.send("stop").unwrap();
    b.send("stop").unwrap();
}

#[tokio::test]
async fn a_member_that_ends_has_left_its_groups_before_its_monitors_hear_of_it() {
    let mut me = Ctx::<()>::detached();
    let a = idle();
    pg::join("pg-test-ends-1", &a).unwrap();
    pg::join("pg-test-ends-2", &a).unwrap();
    pg::join("pg-test-ends-2", &a).unwrap();
    let watch = me.monitor(&a);
    a.send("stop").unwrap();
    common::down(&mut me, watch).await;
    assert!(pg::members_any("pg-test-ends-1").is_empty());
    assert!(pg::members_any("pg-test-ends-2").is_empty());
    assert!(!pg::which_groups()
        .iter()
        .any(|g| g.starts_with("pg-test-ends")));
}

#[tokio::test]
async fn reading_a_group_with_another_message_type_is_an_error() {
    let a = idle();
    pg::join("pg-test-typed", &a).unwrap();
    assert_eq!(
        pg::members::<u32>("pg-test-typed"),
        Err(PgError::WrongType {
            group: "pg-test-typed".into(),
            expected: "u32",
            found: "alloc::string::String",
        })
    );
    assert_eq!(pg::members_any("pg-test-typed"), [a.any()]);
    a.send("stop").unwrap();
}

#[tokio::test]
async fn unknown_groups_are_empty_and_bad_joins_are_refused() {
    assert!(pg::members::<String>("pg-test-nobody").unwrap().is_empty());
    assert!(!pg::which_groups().contains(&"pg-test-nobody".to_owned()));
    let a = idle();
    assert_eq!(pg::join("", &a), Err(PgError::EmptyName));
    let mut me = Ctx::<()>::detached();
    let watch = me.monitor(&a);
    a.send("stop").unwrap();
    common::down(&mut me, watch).await;
    assert_eq!(
        pg::join("pg-test-dead", &a),
        Err(PgError::NoProc {
            pid: a.any(),
            group: "pg-test-dead".into()
        })
    );
    assert!(pg::members_any("pg-test-dead").is_empty());
}

#[tokio::test]
async fn scopes_keep_groups_apart() {
    let a = idle();
    let left = Scope::new("pg-test-left");
    let right = Scope::new("pg-test-right");
    left.join("shared-name", &a).unwrap();
    assert_eq!(
        left.members::<String>("shared-name").unwrap(),
        std::slice::from_ref(&a)
    );
    assert!(right.members_any("shared-name").is_empty());
    assert!(pg::members_any("shared-name").is_empty());
    assert_eq!(left.which_groups(), ["shared-name"]);
    assert!(right.which_groups().is_empty());
    a.send("stop").unwrap();
}

#[tokio::test]
async fn a_watcher_gets_the_members_then_every_join_and_leave() {
    let mut me = Ctx::<PgEvent>::detached();
    let a = idle();
    pg::join("pg-test-watched", &a).unwrap();
    let (watch, now) = pg::monitor("pg-test-watched", &me.pid());
    assert_eq!(now, [a.any()]);
    assert_eq!(watch.group(), "pg-test-watched");

    let b = idle();
    pg::join("pg-test-watched", &b).unwrap();
    let joined = common::next(&mut me).await;
    assert_eq!(
        (joined.kind, joined.pids),
        (PgChange::Joined, vec![b.any()])
    );
    assert_eq!(joined.monitor, watch);

    pg::leave("pg-test-watched", &a).unwrap();
    let left = common::next(&mut me).await;
    assert_eq!((left.kind, left.pids), (PgChange::Left, vec![a.any()]));

    // A member that ends leaves, and the watcher hears of it.
    b.send("stop").unwrap();
    let ended = common::next(&mut me).await;
    assert_eq!((ended.kind, ended.pids), (PgChange::Left, vec![b.any()]));

    assert!(pg::demonitor(&watch));
    assert!(!pg::demonitor(&watch));
    pg::join("pg-test-watched", &a).unwrap();
    fauxtp::assert_no_message!(me, std::time::Duration::from_millis(20));
    a.send("stop").unwrap();
}

/// A server that gets group events as one of its messages.
#[derive(Debug)]
struct Tally {
    events: Vec<PgChange>,
}

#[genserver]
impl Tally {
    fn init(group: &'static str, ctx: &mut ServerCtx<Self>) -> Self {
        pg::monitor(group, &ctx.pid());
        Tally { events: Vec::new() }
    }

    #[info]
    fn group_event(&mut self, event: PgEvent) {
        self.events.push(event.kind);
    }

    #[call]
    fn events(&self) -> Vec<PgChange> {
        self.events.clone()
    }
}

#[tokio::test]
async fn a_genserver_watches_a_group_through_an_info_handler() {
    let tally = Tally::start("pg-test-tally").await.unwrap();
    let a = idle();
    pg::join("pg-test-tally", &a).unwrap();
    pg::leave("pg-test-tally", &a).unwrap();
    fauxtp::testing::wait_for(
        || fauxtp::process::info(&tally).is_some_and(|i| i.messages_handled >= 2),
        common::WAIT,
    )
    .await
    .unwrap();
    assert_eq!(
        tally.events().await,
        Ok(vec![PgChange::Joined, PgChange::Left])
    );
    a.send("stop").unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joins_and_ends_from_many_tasks_leave_no_member_behind() {
    let mut me = Ctx::<()>::detached();
    let mut watches = Vec::new();
    for _ in 0..200 {
        let (pid, watch) = me.spawn_monitor(|mut ctx: Ctx<String>| async move {
            for group in ["pg-test-many-a", "pg-test-many-b"] {
                pg::join(group, &ctx.pid()).unwrap();
            }
            let _ = ctx.recv().await;
            Ok(())
        });
        watches.push((pid, watch));
    }
    fauxtp::testing::wait_for(
        || pg::members_any("pg-test-many-b").len() == 200,
        common::WAIT,
    )
    .await
    .unwrap();
    for (pid, _) in &watches {
        pid.send("stop").unwrap();
    }
    for (_, watch) in watches {
        common::down(&mut me, watch).await;
    }
    assert!(pg::members_any("pg-test-many-a").is_empty());
    assert!(pg::members_any("pg-test-many-b").is_empty());
}
