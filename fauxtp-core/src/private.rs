//! What the code the macros generate, and fauxtp's sibling crates, reach;
//! users should not. Re-exports only: each item lives with its concept.

// `receive!`, `assert_receives!`, `assert_no_message!`.
pub use crate::mailbox::selector::Selector;
pub use crate::process::receive::{Receive, ReceiveAny};
pub use crate::process::slot::{Signal, Slot};
pub use crate::testing::support::{no_match, unexpected, Inspect};

// `#[genserver]`.
pub use crate::genserver::macro_support::{
    answer, answer_now, merge_options, start_server, start_server_via, type_text, watch_reply,
    DebugRef, DebugText, NoDebugText, NoStructOptions,
};

// `#[statem]`.
pub use crate::statem::macro_support::{
    statem_postpone, statem_reply, statem_step, statem_unhandled,
};

// `supervisor!`.
pub use crate::supervisor::macro_support::{child_spec, name_start_error};

// fauxtp-dist.
pub use crate::process::hooks::{demonitor_for, exit_from, monitor_for};
pub use crate::process::names::version as names_version;
