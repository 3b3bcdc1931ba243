//! The name registry: register, whereis, unregister, registered, cleanup on
//! exit and its errors. Names are program-wide, so each test uses its own.

mod common;

use common::{ended, next};
use fauxtp::prelude::*;
use fauxtp::registry::{self, RegistryError};

#[derive(Debug, PartialEq)]
enum Msg {
    Echo(Pid<String>, String),
    Stop,
}

fn echo() -> Pid<Msg> {
    fauxtp::spawn(|mut ctx: Ctx<Msg>| async move {
        loop {
            receive!(ctx, {
                Msg::Echo(to, text) => to.send(text)?,
                Msg::Stop => return Ok(()),
            });
        }
    })
}

#[tokio::test]
async fn a_registered_process_is_reachable_by_name_with_its_type() {
    let mut me = Ctx::<String>::detached();
    let pid = echo();
    registry::register("registry-echo", &pid).unwrap();
    assert!(registry::registered().contains(&"registry-echo".to_string()));
    let found = registry::whereis::<Msg>("registry-echo").unwrap();
    assert_eq!(found, pid);
    assert_eq!(registry::whereis_any("registry-echo"), Some(pid.any()));
    found.send(Msg::Echo(me.pid(), "hi".into())).unwrap();
    assert_eq!(next(&mut me).await, "hi");
    pid.send(Msg::Stop).unwrap();
}

#[tokio::test]
async fn a_name_disappears_when_its_process_ends_and_can_be_taken_again() {
    let mut me = Ctx::<String>::detached();
    let first = echo();
    registry::register("registry-reused", &first).unwrap();
    first.send(Msg::Stop).unwrap();
    ended(&mut me, &first).await;
    assert_eq!(
        registry::whereis::<Msg>("registry-reused"),
        Err(RegistryError::NotRegistered {
            name: "registry-reused".into()
        })
    );
    assert!(registry::whereis_any("registry-reused").is_none());
    assert!(!registry::registered().contains(&"registry-reused".to_string()));
    let second = echo();
    registry::register("registry-reused", &second).unwrap();
    assert_eq!(registry::whereis::<Msg>("registry-reused").unwrap(), second);
    second.send(Msg::Stop).unwrap();
    ended(&mut me, &second).await;
}

#[tokio::test]
async fn a_taken_name_is_an_error_not_an_overwrite() {
    let holder = echo();
    let other = echo();
    registry::register("registry-taken", &holder).unwrap();
    let err = registry::register("registry-taken", &other).unwrap_err();
    assert_eq!(
        err,
        RegistryError::NameTaken {
            name: "registry-taken".into(),
            holder: holder.any()
        }
    );
    assert_eq!(
        err.to_string(),
        format!("the name \"registry-taken\" is already registered to {holder}")
    );
    assert_eq!(registry::whereis::<Msg>("registry-taken").unwrap(), holder);
    for pid in [holder, other] {
        pid.send(Msg::Stop).unwrap();
    }
}

#[tokio::test]
async fn a_lookup_with_the_wrong_type_is_an_error() {
    let pid = echo();
    registry::register("registry-typed", &pid).unwrap();
    let err = registry::whereis::<String>("registry-typed").unwrap_err();
    assert!(matches!(
        &err,
        RegistryError::WrongType { name, pid: p, .. } if name == "registry-typed" && *p == pid
    ));
    let text = err.to_string();
    assert!(text.contains("registry::Msg"), "{text}");
    assert!(text.contains("alloc::string::String"), "{text}");
    pid.send(Msg::Stop).unwrap();
}

#[tokio::test]
async fn bad_names_and_bad_processes_are_errors() {
    let mut me = Ctx::<String>::detached();
    let pid = echo();
    assert_eq!(registry::register("", &pid), Err(RegistryError::EmptyName));
    registry::register("registry-first-name", &pid).unwrap();
    assert_eq!(
        registry::register("registry-second-name", &pid),
        Err(RegistryError::AlreadyNamed {
            pid: pid.any(),
            name: "registry-first-name".into()
        })
    );
    assert_eq!(
        registry::unregister("registry-never-registered"),
        Err(RegistryError::NotRegistered {
            name: "registry-never-registered".into()
        })
    );
    // Unregistering frees the process to take another name.
    registry::unregister("registry-first-name").unwrap();
    assert!(registry::whereis_any("registry-first-name").is_none());
    registry::register("registry-second-name", &pid).unwrap();

    pid.send(Msg::Stop).unwrap();
    ended(&mut me, &pid).await;
    assert_eq!(
        registry::register("registry-dead", &pid),
        Err(RegistryError::NotAlive {
            name: "registry-dead".into(),
            pid: pid.any()
        })
    );
}
