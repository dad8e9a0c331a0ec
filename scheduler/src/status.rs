//! The verdict a plugin hands back: a code plus the reasons users will read.
//!
//! Plugins never fail with an error type; "this node does not fit because …" is ordinary
//! data that the scheduler counts across nodes to build the `FailedScheduling` message.

/// How a plugin judged a pod (against a node, for filter plugins).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Code {
    /// The plugin is satisfied.
    Success,
    /// The pod does not fit now, but could after other pods go away (preemption may help).
    Unschedulable,
    /// The pod does not fit and removing pods would not change that.
    UnschedulableAndUnresolvable,
    /// The plugin could not decide; the scheduling attempt fails and is retried.
    Error,
    /// The plugin has nothing to say about this pod; it is left out of the cycle.
    Skip,
}

/// A plugin's verdict with the reasons behind it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    /// The verdict.
    pub code: Code,
    /// Human-readable reasons, worded as Kubernetes words them (`Insufficient cpu`).
    pub reasons: Vec<String>,
    /// The plugin that gave the verdict, filled in by the framework.
    pub plugin: &'static str,
}

impl Status {
    /// A plain success.
    pub fn success() -> Status {
        Status::new(Code::Success, Vec::new())
    }

    /// A verdict with the given reasons.
    pub fn new(code: Code, reasons: Vec<String>) -> Status {
        Status {
            code,
            reasons,
            plugin: "",
        }
    }

    /// An unschedulable verdict with one reason.
    pub fn unschedulable(reason: impl Into<String>) -> Status {
        Status::new(Code::Unschedulable, vec![reason.into()])
    }

    /// An unresolvable verdict with one reason.
    pub fn unresolvable(reason: impl Into<String>) -> Status {
        Status::new(Code::UnschedulableAndUnresolvable, vec![reason.into()])
    }

    /// An internal error with one reason.
    pub fn error(reason: impl Into<String>) -> Status {
        Status::new(Code::Error, vec![reason.into()])
    }

    /// Whether the verdict is a success.
    pub fn is_success(&self) -> bool {
        self.code == Code::Success
    }

    /// Whether the verdict rejects the pod (either unschedulable code).
    pub fn is_rejected(&self) -> bool {
        matches!(
            self.code,
            Code::Unschedulable | Code::UnschedulableAndUnresolvable
        )
    }

    /// The same verdict, attributed to `plugin`.
    pub fn with_plugin(mut self, plugin: &'static str) -> Status {
        self.plugin = plugin;
        self
    }
}
