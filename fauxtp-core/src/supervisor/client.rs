//! Talking to a supervisor: its requests ([`SupervisorMsg`]) and the client
//! functions on its pid ([`SupervisorClient`]).

use std::future::Future;
use std::time::Duration;

use super::{ChildCounts, ChildInfo, ChildSpec, SupervisorError};
use crate::genserver::{Call, CallError, ReplyTo};
use crate::process::{AnyPid, Pid};

/// How long supervisor requests may take: as OTP's, which wait for
/// children to start and stop, for ever (`infinity`). A call that never
/// times out arms no timer; it still fails at once if the supervisor dies.
const SUPERVISOR_CALL_TIMEOUT: Duration = Duration::MAX;

/// The requests a supervisor answers; send them with [`SupervisorClient`].
#[derive(Debug)]
#[non_exhaustive]
pub enum SupervisorMsg {
    /// `which_children`
    WhichChildren(ReplyTo<Vec<ChildInfo>>),
    /// `count_children`
    CountChildren(ReplyTo<ChildCounts>),
    /// `start_child`
    StartChild(ChildSpec, ReplyTo<Result<AnyPid, SupervisorError>>),
    /// `terminate_child`
    TerminateChild(String, ReplyTo<Result<(), SupervisorError>>),
    /// `terminate_child_pid`
    TerminatePid(AnyPid, ReplyTo<Result<(), SupervisorError>>),
    /// `restart_child`
    RestartChild(String, ReplyTo<Result<AnyPid, SupervisorError>>),
    /// `delete_child`
    DeleteChild(String, ReplyTo<Result<(), SupervisorError>>),
    /// The supervisor's own level of the live tree (see [`tree`](super::tree)).
    Tree(ReplyTo<super::SupervisorNode>),
}

/// The requests of a supervisor, on its pid: `sup.which_children().await`.
///
/// Each request is a call to the supervisor. As OTP's, it waits for the
/// children it starts or stops, so it has no timeout (OTP's `infinity`): it
/// waits as long as the supervisor takes, and fails at once with
/// [`SupervisorError::Call`] if the supervisor is not alive or ends before
/// it answers. A caller that wants a bound makes the call by hand:
/// `Call::new(&sup, "which_children", SupervisorMsg::WhichChildren).timeout(d)`.
pub trait SupervisorClient {
    /// The children, in start order, with their pids if running.
    fn which_children(
        &self,
    ) -> impl Future<Output = Result<Vec<ChildInfo>, SupervisorError>> + Send;
    /// How many children there are, by kind and state.
    fn count_children(&self) -> impl Future<Output = Result<ChildCounts, SupervisorError>> + Send;
    /// Starts a new child (at the end of the order); returns its pid.
    fn start_child(
        &self,
        spec: ChildSpec,
    ) -> impl Future<Output = Result<AnyPid, SupervisorError>> + Send;
    /// Stops a child; its spec stays (unless temporary, or the supervisor is
    /// dynamic), to be restarted with `restart_child` or deleted.
    fn terminate_child(&self, id: &str)
        -> impl Future<Output = Result<(), SupervisorError>> + Send;
    /// Stops the child with this pid (how a dynamic supervisor's children
    /// are stopped).
    fn terminate_child_pid(
        &self,
        pid: AnyPid,
    ) -> impl Future<Output = Result<(), SupervisorError>> + Send;
    /// Starts a stopped child again; returns its new pid.
    fn restart_child(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<AnyPid, SupervisorError>> + Send;
    /// Removes a stopped child's spec.
    fn delete_child(&self, id: &str) -> impl Future<Output = Result<(), SupervisorError>> + Send;
}

/// Makes a request with the supervisors' timeout.
pub(super) async fn ask<T: Send + 'static>(
    sup: &Pid<SupervisorMsg>,
    label: &'static str,
    make: impl FnOnce(ReplyTo<T>) -> SupervisorMsg,
) -> Result<T, CallError> {
    Call::new(sup, label, make)
        .timeout(SUPERVISOR_CALL_TIMEOUT)
        .await
}

/// Makes a request and flattens the call's error into the result.
async fn request<T: Send + 'static>(
    sup: &Pid<SupervisorMsg>,
    label: &'static str,
    make: impl FnOnce(ReplyTo<Result<T, SupervisorError>>) -> SupervisorMsg,
) -> Result<T, SupervisorError> {
    ask(sup, label, make).await?
}

impl SupervisorClient for Pid<SupervisorMsg> {
    async fn which_children(&self) -> Result<Vec<ChildInfo>, SupervisorError> {
        Ok(ask(
            self,
            "Supervisor::which_children",
            SupervisorMsg::WhichChildren,
        )
        .await?)
    }

    async fn count_children(&self) -> Result<ChildCounts, SupervisorError> {
        Ok(ask(
            self,
            "Supervisor::count_children",
            SupervisorMsg::CountChildren,
        )
        .await?)
    }

    async fn start_child(&self, spec: ChildSpec) -> Result<AnyPid, SupervisorError> {
        request(self, "Supervisor::start_child", |reply| {
            SupervisorMsg::StartChild(spec, reply)
        })
        .await
    }

    async fn terminate_child(&self, id: &str) -> Result<(), SupervisorError> {
        let id = id.to_owned();
        request(self, "Supervisor::terminate_child", |reply| {
            SupervisorMsg::TerminateChild(id, reply)
        })
        .await
    }

    async fn terminate_child_pid(&self, pid: AnyPid) -> Result<(), SupervisorError> {
        request(self, "Supervisor::terminate_child_pid", |reply| {
            SupervisorMsg::TerminatePid(pid, reply)
        })
        .await
    }

    async fn restart_child(&self, id: &str) -> Result<AnyPid, SupervisorError> {
        let id = id.to_owned();
        request(self, "Supervisor::restart_child", |reply| {
            SupervisorMsg::RestartChild(id, reply)
        })
        .await
    }

    async fn delete_child(&self, id: &str) -> Result<(), SupervisorError> {
        let id = id.to_owned();
        request(self, "Supervisor::delete_child", |reply| {
            SupervisorMsg::DeleteChild(id, reply)
        })
        .await
    }
}
