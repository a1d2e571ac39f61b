//! Whether the target went away during the scan: a run of requests that
//! could not even connect, after the target had answered. A crashed or
//! restarted server shows up this way; checks that ran during the run saw
//! nothing, and the report must say so rather than look clean.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long requests wait, per outage, for a target that went away to come
/// back (a supervised server restarting after a crash) before they fail.
pub(crate) const RECOVERY_WINDOW: Duration = Duration::from_secs(10);

/// The longest run of refused connections after the target had answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outage {
    /// Requests in the run.
    pub failed: u64,
    /// `METHOD target` of the first one (secrets redacted).
    pub first: String,
    /// Its error, with its chain.
    pub error: String,
    /// Whether a response came again after the run.
    pub recovered: bool,
}

#[derive(Debug, Default)]
struct State {
    answered: bool,
    current: Option<Outage>,
    longest: Option<Outage>,
    /// Until when the ongoing outage's requests may wait for the target.
    recovery_until: Option<Instant>,
}

/// Tracks runs of refused connections (one per engine).
#[derive(Debug, Default)]
pub(crate) struct OutageWatch {
    state: Mutex<State>,
}

fn longer(a: Option<Outage>, b: Option<Outage>) -> Option<Outage> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if b.failed > a.failed { b } else { a }),
        (a, b) => a.or(b),
    }
}

impl OutageWatch {
    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut self.state.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// A response came: any run ends, recovered.
    pub(crate) fn answered(&self) {
        self.with(|s| {
            s.answered = true;
            s.recovery_until = None;
            if let Some(mut run) = s.current.take() {
                run.recovered = true;
                s.longest = longer(s.longest.take(), Some(run));
            }
        });
    }

    /// A request could not connect; counted only once the target has answered.
    pub(crate) fn refused(&self, first: impl FnOnce() -> String, error: impl FnOnce() -> String) {
        self.with(|s| {
            if !s.answered {
                return;
            }
            match &mut s.current {
                Some(run) => run.failed += 1,
                None => s.current = Some(Outage { failed: 1, first: first(), error: error(), recovered: false }),
            }
        });
    }

    /// Whether a request that could not connect may wait and try again: only
    /// once the target has answered (a target that never did is simply not
    /// there), and only within [`RECOVERY_WINDOW`] of the outage's start.
    pub(crate) fn may_wait(&self, now: Instant) -> bool {
        self.with(|s| {
            if !s.answered {
                return false;
            }
            let until = *s.recovery_until.get_or_insert(now + RECOVERY_WINDOW);
            now < until
        })
    }

    /// The longest run so far (the ongoing one included).
    pub(crate) fn longest(&self) -> Option<Outage> {
        self.with(|s| longer(s.longest.clone(), s.current.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_run_after_a_first_answer_is_kept() {
        let watch = OutageWatch::default();
        watch.refused(|| "GET /before".into(), || "refused".into());
        assert_eq!(watch.longest(), None, "a target that never answered is not an outage");
        watch.answered();
        for i in 0..2 {
            watch.refused(|| format!("GET /a{i}"), || "refused".into());
        }
        watch.answered();
        for i in 0..3 {
            watch.refused(|| format!("GET /b{i}"), || "refused".into());
        }
        let run = watch.longest().unwrap();
        assert_eq!((run.failed, run.first.as_str(), run.recovered), (3, "GET /b0", false));
        watch.answered();
        assert!(watch.longest().unwrap().recovered);
    }
}
