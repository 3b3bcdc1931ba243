//! Calls and casts to many servers at once: OTP's `gen_server:multi_call`
//! and `abcast`, on local servers.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::Poll;

use super::CallError;

/// Calls every server at once and waits for all the replies (OTP's
/// `gen_server:multi_call`, on local servers). `call` makes one call
/// from a server (`|pid| pid.get()`, with its own timeout if you give
/// one); the results come back in the order of `servers`, each with its
/// own error, so one server that is gone or slow costs only its own
/// answer.
///
/// ```
/// use fauxtp::prelude::*;
///
/// struct Shard { keys: usize }
///
/// #[genserver]
/// impl Shard {
///     fn init(keys: usize) -> Self { Shard { keys } }
///
///     #[call]
///     fn size(&self) -> usize { self.keys }
/// }
///
/// # #[tokio::main] async fn main() {
/// let mut shards = Vec::new();
/// for keys in [3, 5] {
///     shards.push(Shard::start(keys).await.unwrap());
/// }
/// let sizes = genserver::multi_call(shards.clone(), |shard| shard.size()).await;
/// let total: usize = sizes.iter().map(|(_, size)| size.clone().unwrap_or(0)).sum();
/// assert_eq!(total, 8);
/// # }
/// ```
pub async fn multi_call<P, F, C, R>(
    servers: impl IntoIterator<Item = P>,
    mut call: F,
) -> Vec<(P, Result<R, CallError>)>
where
    F: FnMut(&P) -> C,
    C: IntoFuture<Output = Result<R, CallError>>,
{
    let servers: Vec<P> = servers.into_iter().collect();
    let mut pending: Vec<Option<Pin<Box<C::IntoFuture>>>> = servers
        .iter()
        .map(|server| Some(Box::pin(call(server).into_future())))
        .collect();
    let mut results: Vec<Option<Result<R, CallError>>> = std::iter::repeat_with(|| None)
        .take(servers.len())
        .collect();
    std::future::poll_fn(|cx| {
        let mut waiting = false;
        for (slot, result) in pending.iter_mut().zip(results.iter_mut()) {
            if let Some(call) = slot {
                match call.as_mut().poll(cx) {
                    Poll::Ready(answer) => {
                        *result = Some(answer);
                        *slot = None;
                    }
                    Poll::Pending => waiting = true,
                }
            }
        }
        if waiting {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    servers
        .into_iter()
        .zip(results)
        .filter_map(|(server, result)| result.map(|result| (server, result)))
        .collect()
}

/// Casts to every server (OTP's `gen_server:abcast`, on local servers):
/// `cast` sends to one (`|pid| pid.reset()`); the results come back in the
/// order of `servers`, an error for each one that is gone.
pub fn abcast<P, F, E>(servers: impl IntoIterator<Item = P>, mut cast: F) -> Vec<(P, Result<(), E>)>
where
    F: FnMut(&P) -> Result<(), E>,
{
    servers
        .into_iter()
        .map(|server| {
            let sent = cast(&server);
            (server, sent)
        })
        .collect()
}
