//! The loop the passive checks share: the safe endpoints they look at (at
//! most [`MAX_ENDPOINTS_PER_CHECK`]), their shared baseline GETs, what trying
//! them came to, and the verdict that says so.

use crate::check::CheckVerdict;
use crate::context::ScanContext;
use mortar_engine::Exchange;
use mortar_model::Endpoint;
use std::sync::Arc;

/// Most endpoints a passive header check looks at: the issue is usually host-wide.
pub(crate) const MAX_ENDPOINTS_PER_CHECK: usize = 25;

/// The verdict after trying `tried` endpoints of which `failed` got no response.
pub(crate) fn verdict(what: &str, tried: usize, failed: usize, last_error: Option<String>) -> CheckVerdict {
    match (tried, failed) {
        (0, _) => CheckVerdict::Skipped("no endpoint reachable with a safe method".into()),
        (t, f) if f == t => CheckVerdict::Inconclusive(format!(
            "no response from any of {t} endpoint(s): {}",
            last_error.unwrap_or_default()
        )),
        (t, 0) => CheckVerdict::Ran(format!("{what} on {t} endpoint(s)")),
        (t, f) => CheckVerdict::Ran(format!("{what} on {} of {t} endpoint(s) ({f} did not answer)", t - f)),
    }
}

/// The safe endpoints a passive check looks at, in order.
pub(crate) fn endpoints(ctx: &ScanContext) -> Vec<Endpoint> {
    ctx.safe_endpoints().take(MAX_ENDPOINTS_PER_CHECK).cloned().collect()
}

/// What trying a set of endpoints came to, for the verdict.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tally {
    /// Endpoints tried.
    pub tried: usize,
    /// Endpoints that got no response at all.
    pub failed: usize,
    /// The last transport error.
    pub last_error: Option<String>,
}

impl Tally {
    /// `tried` endpoints, none failed yet.
    pub(crate) fn new(tried: usize) -> Tally {
        Tally { tried, ..Tally::default() }
    }

    /// A request got no response (its endpoint may still answer another).
    pub(crate) fn error(&mut self, error: String) {
        self.last_error = Some(error);
    }

    /// Done with an endpoint: `answered` when any of its requests got a response.
    pub(crate) fn endpoint(&mut self, answered: bool) {
        if !answered {
            self.failed += 1;
        }
    }

    /// An endpoint's one request got no response.
    pub(crate) fn failure(&mut self, error: String) {
        self.endpoint(false);
        self.error(error);
    }

    /// See [`verdict`]: `what` was done on the endpoints that answered.
    pub(crate) fn verdict(self, what: &str) -> CheckVerdict {
        verdict(what, self.tried, self.failed, self.last_error)
    }
}

/// A response a passive check reads.
pub(crate) struct Page {
    /// The operation it came from.
    pub endpoint: Endpoint,
    /// The shared baseline GET.
    pub exchange: Arc<Exchange>,
}

/// The responses read, and what reading them came to.
pub(crate) struct Pages {
    /// Every response read, in endpoint order.
    pub pages: Vec<Page>,
    /// Endpoints tried, unanswered, the last error.
    pub tally: Tally,
}

impl Pages {
    /// See [`verdict`].
    pub(crate) fn verdict(self, what: &str) -> CheckVerdict {
        self.tally.verdict(what)
    }

    /// Reads `endpoints`' shared baseline GETs, one after another, onto the pages.
    pub(crate) async fn read(&mut self, ctx: &ScanContext, check: &'static str, endpoints: Vec<Endpoint>) {
        for endpoint in endpoints {
            self.tally.tried += 1;
            match ctx.baseline(check, &endpoint).await {
                Ok(exchange) => self.pages.push(Page { endpoint, exchange }),
                Err(e) => self.tally.failure(e),
            }
        }
    }
}

/// The shared baseline GET of every safe endpoint a passive check looks at
/// ([`endpoints`]): the first check to ask sends it, the others read it.
pub(crate) async fn baselines(ctx: &ScanContext, check: &'static str) -> Pages {
    let mut read = Pages { pages: Vec::new(), tally: Tally::default() };
    read.read(ctx, check, endpoints(ctx)).await;
    read
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tally_counts_endpoints_that_never_answered_and_keeps_the_last_error() {
        let mut tally = Tally::new(3);
        // A failed request on an endpoint that answered another one is no failed endpoint.
        tally.error("connection reset".into());
        tally.endpoint(true);
        tally.failure("connection refused".into());
        tally.endpoint(true);
        assert_eq!(
            tally.clone().verdict("read"),
            CheckVerdict::Ran("read on 2 of 3 endpoint(s) (1 did not answer)".into())
        );
        let mut none = Tally::new(1);
        none.failure("timeout".into());
        assert_eq!(
            none.verdict("read"),
            CheckVerdict::Inconclusive("no response from any of 1 endpoint(s): timeout".into())
        );
        assert_eq!(Tally::new(2).verdict("read"), CheckVerdict::Ran("read on 2 endpoint(s)".into()));
        assert!(matches!(Tally::default().verdict("read"), CheckVerdict::Skipped(_)));
    }
}
