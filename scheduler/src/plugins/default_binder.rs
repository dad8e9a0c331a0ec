//! DefaultBinder: binds every pod through the `pods/binding` subresource. The plugin only
//! accepts the job; the scheduler posts the Binding .

use crate::framework::{BindPlugin, Plugin};
use crate::pod_info::PodInfo;
use crate::status::Status;

/// The plugin's name.
pub const NAME: &str = "DefaultBinder";

/// Takes every pod.
pub struct DefaultBinder;

impl Plugin for DefaultBinder {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_bind(&self) -> Option<&dyn BindPlugin> {
        Some(self)
    }
}

impl BindPlugin for DefaultBinder {
    fn bind(&self, _pod: &PodInfo, _node: &str) -> Status {
        Status::success()
    }
}
