//! What a running scan tells its caller as it goes (progress bars, a
//! dashboard's live view, an MCP client): phases and per-check results.

use mortar_model::CheckStatus;

/// One step of a running scan, in the order they happen.
#[derive(Debug, Clone, PartialEq)]
pub enum ScanEvent {
    /// The API description is loaded (or none was found) and the operations are planned.
    Planned {
        /// Operations the checks will see.
        operations: usize,
        /// Checks that will run.
        checks: usize,
    },
    /// The pre-flight request of one identity was answered.
    Identity {
        /// Identity name.
        name: String,
        /// Whether the target accepted it.
        accepted: bool,
    },
    /// Every selected check has been started.
    ChecksStarted {
        /// Check ids, in registry order.
        checks: Vec<&'static str>,
    },
    /// One check ended.
    CheckFinished {
        /// Check id.
        check: &'static str,
        /// Ran, skipped or inconclusive.
        status: CheckStatus,
        /// Findings it made.
        findings: usize,
    },
    /// The report is assembled.
    Finished {
        /// The 0-100 score.
        score: u8,
        /// Findings in the report.
        findings: usize,
        /// Requests sent.
        requests: u64,
    },
}

/// Where events go: any function, called in order from the scan's tasks.
pub type EventSink = std::sync::Arc<dyn Fn(ScanEvent) + Send + Sync>;
